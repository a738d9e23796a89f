#if canImport(Glibc)
import Glibc
#endif
import SocketModel

/// A failed system call, with its errno text.
public struct SocketFailure: Error, CustomStringConvertible {
    public let description: String
    public let code: Int32
    public init(_ call: String, _ code: Int32 = errno) {
        self.code = code
        description = "\(call): \(String(cString: strerror(code)))"
    }
}

/// A socket a test made itself with the plain C calls (not with the code under test), closed
/// when the test drops it. Create it inside `NetworkNamespace.run` so that it lives in the
/// test's namespace.
public final class TestSocket: @unchecked Sendable {
    public private(set) var fd: Int32

    public init(fd: Int32) { self.fd = fd }
    deinit { close() }

    /// A close-on-exec socket of `family` and `proto`.
    public convenience init(_ family: AddressFamily, _ proto: TransportProtocol) throws {
        let type = proto == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = socket(Int32(family.rawValue), type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure("socket") }
        self.init(fd: fd)
    }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    public func setOption(_ level: Int32, _ name: Int32, _ value: Int32 = 1) throws {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SocketFailure("setsockopt(\(level), \(name))")
        }
    }

    /// SO_LINGER {on, 0}: `close` sends a RST and leaves no TIME_WAIT behind.
    public func abortOnClose() throws {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        guard setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)) == 0 else {
            throw SocketFailure("setsockopt(SO_LINGER)")
        }
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO, so that no read or write blocks a test for ever.
    public func setTimeout(seconds: Int) throws {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            guard setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
                throw SocketFailure("setsockopt(SO_*TIMEO)")
            }
        }
    }

    public func bind(_ endpoint: SocketEndpoint, scope: UInt32 = 0) throws {
        try withSockaddr(endpoint, scope: scope) { address, length in
            guard Glibc.bind(fd, address, length) == 0 else { throw SocketFailure("bind \(endpoint)") }
        }
    }

    public func connect(_ endpoint: SocketEndpoint, scope: UInt32 = 0) throws {
        let code = connectError(endpoint, scope: scope)
        guard code == 0 else { throw SocketFailure("connect \(endpoint)", code) }
    }

    /// `connect(2)` returning its errno (0 on success) instead of throwing, for tests that
    /// connect until a range is full.
    public func connectError(_ endpoint: SocketEndpoint, scope: UInt32 = 0) -> Int32 {
        withSockaddr(endpoint, scope: scope) { address, length in Glibc.connect(fd, address, length) == 0 ? 0 : errno }
    }

    public func listen(backlog: Int32 = 128) throws {
        guard Glibc.listen(fd, backlog) == 0 else { throw SocketFailure("listen") }
    }

    /// A TCP socket listening on `endpoint` (`scope` is an IPv6 interface index), with
    /// SO_REUSEADDR so that TIME_WAIT left by earlier tests or runs is harmless.
    public static func tcpListener(_ endpoint: SocketEndpoint, scope: UInt32 = 0, backlog: Int32 = 128) throws -> TestSocket {
        let socket = try TestSocket(endpoint.address.family, .tcp)
        try socket.setOption(SOL_SOCKET, SO_REUSEADDR)
        try socket.bind(endpoint, scope: scope)
        try socket.listen(backlog: backlog)
        return socket
    }

    public func accept() throws -> TestSocket {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw SocketFailure("accept") }
        return TestSocket(fd: client)
    }

    /// `getsockname`.
    public func localEndpoint() throws -> SocketEndpoint {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { throw SocketFailure("getsockname") }
        return endpoint(from: storage)
    }

    /// SO_COOKIE (57): the id SOCK_DIAG and ss (`sk:`) report.
    public func cookie() throws -> UInt64 {
        var value: UInt64 = 0
        var length = socklen_t(MemoryLayout<UInt64>.size)
        guard getsockopt(fd, SOL_SOCKET, 57, &value, &length) == 0 else { throw SocketFailure("getsockopt(SO_COOKIE)") }
        return value
    }

    /// The socket's inode, from fstat.
    public func inode() throws -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SocketFailure("fstat") }
        return UInt64(info.st_ino)
    }

    /// Sends all of `bytes` (MSG_NOSIGNAL: a closed peer is an error, not a signal).
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SocketFailure("send") }
            offset += n
        }
    }

    /// One datagram to `endpoint`.
    public func send(_ bytes: [UInt8], to endpoint: SocketEndpoint) throws {
        try withSockaddr(endpoint, scope: 0) { address, length in
            guard sendto(fd, bytes, bytes.count, 0, address, length) == bytes.count else { throw SocketFailure("sendto \(endpoint)") }
        }
    }

    /// Waits (bounded) until one of `sockets` has something to read: the event a datagram's
    /// arrival is. False on timeout.
    public static func waitUntilAnyReadable(_ sockets: [TestSocket], timeout: Duration = .seconds(5)) -> Bool {
        var entries = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        while true {
            let ready = poll(&entries, nfds_t(entries.count), milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

    /// Reads whatever is queued without waiting; nil when nothing is.
    public func receiveNow() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return n < 0 ? nil : Array(buffer[0..<n])
    }

    /// Reads until the peer closes, at most `limit` bytes; bounded by the socket's timeout,
    /// which throws. A reset ends the read once something arrived (a server that answered and
    /// closed with bytes unread), or at once when `resetEndsIt` (then it may return nothing).
    public func readToEnd(limit: Int = 64 << 20, resetEndsIt: Bool = false) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == ECONNRESET && (resetEndsIt || !out.isEmpty) { break }
            if n < 0 { throw SocketFailure("recv after \(out.count) bytes") }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }
}

/// Calls `body` with the `sockaddr` of `endpoint` (`scope` is an IPv6 interface index).
public func withSockaddr<T>(_ endpoint: SocketEndpoint, scope: UInt32 = 0,
                            _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
    let bytes = endpoint.address.networkBytes
    switch endpoint.address.family {
    case .ipv4:
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = endpoint.port.bigEndian
        withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
        return try withUnsafePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    case .ipv6:
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = endpoint.port.bigEndian
        address.sin6_scope_id = scope
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
        return try withUnsafePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}

/// The endpoint in a `sockaddr_storage` (IPv4 or IPv6).
public func endpoint(from storage: sockaddr_storage) -> SocketEndpoint {
    var storage = storage
    let isIPv6 = storage.ss_family == sa_family_t(AF_INET6)
    return withUnsafeBytes(of: &storage) { raw in
        let port = UInt16(raw[2]) << 8 | UInt16(raw[3])
        return SocketEndpoint(address: IPAddress(networkBytes: isIPv6 ? raw[8..<24] : raw[4..<8])!, port: port)
    }
}

extension SocketEndpoint {
    /// A test literal: an address text and a port (crashes on a bad literal: a test bug).
    public static func at(_ address: String, _ port: some BinaryInteger) -> SocketEndpoint {
        guard let ip = IPAddress(address), let port = UInt16(exactly: port) else { fatalError("bad test literal \(address) \(port)") }
        return SocketEndpoint(address: ip, port: port)
    }
}
