import SystemPackage

/// Reads a file whole: kernel files (`/proc/sys/...`, `/proc/self/stat`), which report size 0,
/// and recordings of up to a GiB. The one whole-file reader.
public enum WholeFile {
    /// The file's bytes, read until end of file (`open`, `read` until 0, `close`); the size is
    /// not asked, as procfs files report 0. Fails with `EFBIG` past `limit` bytes.
    public static func read(_ path: String, limit: Int = 4 << 20) throws(Errno) -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch {
            throw error as? Errno ?? .ioError
        }
        defer { try? descriptor.close() }
        var bytes: [UInt8] = []
        var chunk = 4096
        while true {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: chunk))
            let count: Int
            do {
                count = try bytes.withUnsafeMutableBytes { buffer in
                    try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
                }
            } catch {
                throw error as? Errno ?? .ioError
            }
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
}
