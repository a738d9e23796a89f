#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Reads a file whole: kernel files (`/proc/sys/...`, `/proc/self/stat`), which report size 0,
/// recordings of up to a GiB, and configuration files (`readRegularFile`). The one whole-file
/// reader, by path or through a kept descriptor.
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

    /// Why `readRegularFile` refused a file.
    public enum RegularFileFailure: Error, Sendable, Hashable, CustomStringConvertible {
        /// open, fstat or read failed.
        case system(Errno)
        /// A FIFO, a device, a socket or a directory: `kind` says which.
        case notRegular(kind: String)
        /// `size` bytes where at most `limit` are read.
        case tooLarge(size: Int, limit: Int)

        public var description: String {
            switch self {
            case let .system(errno): "\(errno)"
            case let .notRegular(kind): "not a regular file (it is \(kind))"
            case let .tooLarge(size, limit): "the file is \(size) bytes, more than the limit of \(limit) bytes"
            }
        }
    }

    /// A configuration file's bytes: only a regular file of at most `limit` bytes. It is opened
    /// with O_NONBLOCK and checked with fstat(2) before any read, so a FIFO cannot block and
    /// `/dev/zero` cannot fill memory; the limit holds while reading too (a file that grows).
    public static func readRegularFile(_ path: String, limit: Int) throws(RegularFileFailure) -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch {
            throw .system(error as? Errno ?? .ioError)
        }
        defer { try? descriptor.close() }
        var status = stat()
        guard fstat(descriptor.rawValue, &status) == 0 else { throw .system(Errno(rawValue: errno)) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFIFO: throw .notRegular(kind: "a FIFO")
        case S_IFCHR: throw .notRegular(kind: "a character device")
        case S_IFBLK: throw .notRegular(kind: "a block device")
        case S_IFDIR: throw .notRegular(kind: "a directory")
        case S_IFSOCK: throw .notRegular(kind: "a socket")
        default: throw .notRegular(kind: "of file type \(String(status.st_mode & S_IFMT, radix: 8))")
        }
        guard Int(status.st_size) <= limit else { throw .tooLarge(size: Int(status.st_size), limit: limit) }
        do {
            return try read(descriptor, limit: limit)
        } catch {
            throw error == .fileTooLarge ? .tooLarge(size: limit + 1, limit: limit) : .system(error)
        }
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
