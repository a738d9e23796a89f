import SystemPackage

/// Reads small kernel files (`/proc/sys/...`) and recordings whole.
enum ProcFile {
    /// The file's bytes, read until end of file (`open`, `read` until 0, `close`); procfs files
    /// report size 0, so the size is not asked. Fails with `EFBIG` past `limit` bytes.
    static func read(_ path: String, limit: Int = 4 << 20) throws(Errno) -> [UInt8] {
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

    /// The file as UTF-8 text (invalid bytes replaced).
    static func text(_ path: String) throws(Errno) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }
}
