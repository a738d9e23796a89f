#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `format` filled in by the C library's `vsnprintf`, for the exporter's fixed-width numbers
/// (percentages with one decimal, zero-padded timestamp fields, `\u` escapes): the digits and
/// rounding of C's `printf`, as Foundation's `String(format:)` gave them, without Foundation.
/// ASCII conversions only (`%d`, `%x`, `%f` and their widths and precisions).
func printfFormat(_ format: String, _ arguments: any CVarArg...) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    let length = Int(withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) })
    guard length >= 0 else { return "" }   // an encoding error, which these conversions cannot make
    if length >= buffer.count {
        // Longer than the first buffer: once more with room for all of it (a va_list is used once).
        buffer = [CChar](repeating: 0, count: length + 1)
        _ = withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) }
    }
    return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
