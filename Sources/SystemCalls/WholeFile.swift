#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Reads a file whole: kernel files (`/proc/sys/...`, `/proc/self/stat`), which report size 0,
/// and recordings of up to a GiB. The one whole-file reader, by path or through a kept descriptor.
public enum WholeFile {
    /// The file's bytes, read until end of file (`open`, then `read(_:limit:)`, `close`).
    /// Fails with `EFBIG` past `limit` bytes.
    public static func read(_ path: String, limit: Int = 4 << 20) throws(Errno) -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch {
            throw error as? Errno ?? .ioError
        }
        defer { try? descriptor.close() }
        return try read(descriptor, limit: limit)
    }

    /// The bytes of an open file from offset 0 to end of file, with `pread` (the descriptor's
    /// own offset is left alone). A kept `/proc/sys` or `/proc/.../net` file shows its current
    /// contents to every read from offset 0, and keeps the network namespace it was opened in,
    /// so one descriptor serves every later read from any thread. procfs files report size 0,
    /// so the size is not asked. Fails with `EFBIG` past `limit` bytes.
    public static func read(_ descriptor: FileDescriptor, limit: Int = 4 << 20) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = 4096
        while true {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: chunk))
            let result = bytes.withUnsafeMutableBytes { buffer in
                Result { () throws(Errno) in
                    try systemCall { pread(descriptor.rawValue, buffer.baseAddress! + start, chunk, off_t(start)) }
                }
            }
            let count = try result.get()
            bytes.removeLast(chunk - count)
            if count == 0 { return bytes }
            if bytes.count > limit { throw .fileTooLarge }
            chunk = min(chunk * 2, 1 << 20)
        }
    }

    /// The file as UTF-8 text (invalid bytes replaced), at most `limit` bytes.
    public static func text(_ path: String, limit: Int = 4 << 20) throws(Errno) -> String {
        String(decoding: try read(path, limit: limit), as: UTF8.self)
    }

    /// The open file's text from offset 0 (invalid bytes replaced).
    public static func text(_ descriptor: FileDescriptor) throws(Errno) -> String {
        String(decoding: try read(descriptor), as: UTF8.self)
    }
}
