#if canImport(Glibc)
import Glibc
#endif
import SocketModel

/// A failed syscall: which call, on what, and errno.
struct SyscallError: Error, CustomStringConvertible {
    let call: String
    let errnoValue: Int32
    var description: String { "\(call): \(String(cString: strerror(errnoValue)))" }
}

/// Thin syscall helpers for building socket populations. Every socket stays open until exit.
enum Sockets {
    static func check(_ result: Int32, _ call: @autoclosure () -> String) throws -> Int32 {
        if result < 0 { throw SyscallError(call: call(), errnoValue: errno) }
        return result
    }

    static func socket(_ family: AddressFamily, udp: Bool) throws -> Int32 {
        let type = udp ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        return try check(Glibc.socket(Int32(family.rawValue), type | Int32(SOCK_CLOEXEC.rawValue), 0), "socket")
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32 = 1) throws {
        var v = value
        _ = try check(setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)), "setsockopt(\(name))")
    }

    /// Calls `body` with a sockaddr for `endpoint`.
    static func withSockaddr<T>(_ endpoint: SocketEndpoint, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
        let bytes = endpoint.address.networkBytes
        switch endpoint.address.family {
        case .ipv4:
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: bytes) }
            return try withUnsafePointer(to: &sa) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6:
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: bytes) }
            return try withUnsafePointer(to: &sa) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    static func bind(_ fd: Int32, _ endpoint: SocketEndpoint) throws {
        _ = try withSockaddr(endpoint) { try check(Glibc.bind(fd, $0, $1), "bind(\(endpoint))") }
    }

    static func connect(_ fd: Int32, _ endpoint: SocketEndpoint) throws {
        _ = try withSockaddr(endpoint) { try check(Glibc.connect(fd, $0, $1), "connect(\(endpoint))") }
    }

    static func localPort(_ fd: Int32) throws -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try check(getsockname(fd, $0, &length), "getsockname") }
        }
        return withUnsafeBytes(of: &storage) { raw in
            // sin_port and sin6_port sit at the same offset, in network order.
            UInt16(raw[2]) << 8 | UInt16(raw[3])
        }
    }

    /// Raises RLIMIT_NOFILE to `wanted` (root may raise the hard limit up to fs.nr_open).
    static func raiseFileLimit(to wanted: Int) throws {
        var limit = rlimit()
        _ = try check(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), "getrlimit")
        if limit.rlim_cur >= rlim_t(wanted) { return }
        limit.rlim_cur = rlim_t(wanted)
        if limit.rlim_max < rlim_t(wanted) { limit.rlim_max = rlim_t(wanted) }
        _ = try check(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), "setrlimit(RLIMIT_NOFILE, \(wanted))")
    }
}
