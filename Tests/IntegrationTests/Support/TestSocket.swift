#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// A socket made by a test with plain syscalls. Create and use it inside `ns.run { }` so it
/// lives in the test's namespace; `close()` it there too (or let the test end).
final class TestSocket: @unchecked Sendable {
    let fd: Int32
    let family: SocketTableEntry.Family

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ call: String, _ code: Int32 = errno) { description = "\(call): \(String(cString: strerror(code)))" }
    }

    init(_ family: SocketTableEntry.Family, udp: Bool) throws {
        let type = udp ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        let fd = socket(family == .ipv4 ? AF_INET : AF_INET6, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        self.fd = fd
        self.family = family
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    func setOption(_ level: Int32, _ name: Int32, _ value: Int32 = 1) throws {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else { throw Failure("setsockopt(\(name))") }
    }

    /// SO_LINGER {on, 0}: `close` sends a RST and leaves no TIME_WAIT behind.
    func abortOnClose() throws {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        guard setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)) == 0 else { throw Failure("SO_LINGER") }
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO, so that no read or write blocks a test for ever.
    func setTimeout(seconds: Int) throws {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            guard setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0 else { throw Failure("SO_*TIMEO") }
        }
    }

    func bind(_ address: String, _ port: Int) throws {
        try withAddress(address, port) { guard Glibc.bind(fd, $0, $1) == 0 else { throw Failure("bind(\(address):\(port))") } }
    }

    func connect(_ address: String, _ port: Int) throws {
        try withAddress(address, port) { guard Glibc.connect(fd, $0, $1) == 0 else { throw Failure("connect(\(address):\(port))") } }
    }

    func listen() throws { guard Glibc.listen(fd, 16) == 0 else { throw Failure("listen") } }

    func send(to address: String, _ port: Int, _ bytes: [UInt8]) throws {
        try withAddress(address, port) { sa, length in
            let n = bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
            guard n == bytes.count else { throw Failure("sendto(\(address):\(port))") }
        }
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure("send") }
            offset += n
        }
    }

    /// Reads until the peer closes, at most `limit` bytes (bounded by the socket's timeout).
    func readToEnd(limit: Int = 64 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == ECONNRESET { break }
            if n < 0 { throw Failure("recv") }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    var localPort: Int {
        get throws {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let rc = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard rc == 0 else { throw Failure("getsockname") }
            return withUnsafeBytes(of: &storage) { Int($0[2]) << 8 | Int($0[3]) }
        }
    }

    var inode: Int {
        get throws {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw Failure("fstat") }
            return Int(st.st_ino)
        }
    }

    /// SO_COOKIE (57): the id SOCK_DIAG and ss (`sk:`) report.
    var cookie: UInt64 {
        get throws {
            var value: UInt64 = 0
            var length = socklen_t(MemoryLayout<UInt64>.size)
            guard getsockopt(fd, SOL_SOCKET, 57, &value, &length) == 0 else { throw Failure("getsockopt(SO_COOKIE)") }
            return value
        }
    }

    private func withAddress(_ address: String, _ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Void) throws {
        if family == .ipv4 {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET, address, &sa.sin_addr) == 1 else { throw Failure("inet_pton(\(address))", EINVAL) }
            try withUnsafePointer(to: &sa) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET6, address, &sa.sin6_addr) == 1 else { throw Failure("inet_pton(\(address))", EINVAL) }
            try withUnsafePointer(to: &sa) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}

/// The cgroup v2 path of this process (`0::/path` in /proc/self/cgroup): what ss prints as
/// `cgroup:` for the sockets a test creates itself.
func ownCgroupPath() throws -> String {
    let text = try readTextFile("/proc/self/cgroup")
    for line in text.split(separator: "\n") where line.hasPrefix("0::") { return String(line.dropFirst(3)) }
    throw TestSocket.Failure("no cgroup v2 line in /proc/self/cgroup", ENOENT)
}

/// Reads a small text file with open/read (no Foundation file APIs needed).
func readTextFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TestSocket.Failure("open \(path)") }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw TestSocket.Failure("read \(path)") }
        if n == 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: out, as: UTF8.self)
}
