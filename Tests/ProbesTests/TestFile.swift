#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// Small file helpers that need no Foundation.
enum TestFile {
    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SocketFailure("open \(path)") }
        defer { close(fd) }
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw SocketFailure("write \(path)") }
    }

    static func write(_ path: String, _ text: String) throws { try write(path, Array(text.utf8)) }

    static func remove(_ path: String) { unlink(path) }
}
