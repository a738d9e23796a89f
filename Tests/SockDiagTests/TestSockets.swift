#if canImport(Glibc)
import Glibc
#endif
import SocketModel

/// Real sockets for the integration tests: thin wrappers over the C calls that fail the test
/// with errno text. Create them inside `NetworkNamespace.run` so they live in the namespace.
struct SocketFailure: Error, CustomStringConvertible {
    let description: String
    init(_ call: String) { description = "\(call): \(String(cString: strerror(errno)))" }
}

/// An open socket descriptor, closed when the test drops it.
final class TestSocket: @unchecked Sendable {
    private(set) var fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    static func make(_ family: AddressFamily, _ proto: TransportProtocol) throws -> TestSocket {
        let type = proto == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = socket(Int32(family.rawValue), type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure("socket") }
        return TestSocket(fd: fd)
    }

    func setOption(_ level: Int32, _ name: Int32, _ value: Int32) throws {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SocketFailure("setsockopt(\(level), \(name))")
        }
    }

    func bind(_ endpoint: SocketEndpoint, scope: UInt32 = 0) throws {
        try withSockaddr(endpoint, scope: scope) { address, length in
            guard Glibc.bind(fd, address, length) == 0 else { throw SocketFailure("bind \(endpoint)") }
        }
    }

    func connect(_ endpoint: SocketEndpoint, scope: UInt32 = 0) throws {
        try withSockaddr(endpoint, scope: scope) { address, length in
            guard Glibc.connect(fd, address, length) == 0 else { throw SocketFailure("connect \(endpoint)") }
        }
    }

    func listen() throws {
        guard Glibc.listen(fd, 128) == 0 else { throw SocketFailure("listen") }
    }

    func accept() throws -> TestSocket {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw SocketFailure("accept") }
        return TestSocket(fd: client)
    }

    /// `getsockname`.
    func localEndpoint() throws -> SocketEndpoint {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { throw SocketFailure("getsockname") }
        return endpoint(from: storage)
    }

    /// `SO_COOKIE`.
    func cookie() throws -> UInt64 {
        var value: UInt64 = 0
        var length = socklen_t(8)
        guard getsockopt(fd, SOL_SOCKET, 57 /* SO_COOKIE */, &value, &length) == 0 else { throw SocketFailure("SO_COOKIE") }
        return value
    }

    /// The socket's inode, from fstat.
    func inode() throws -> UInt32 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SocketFailure("fstat") }
        return UInt32(truncatingIfNeeded: info.st_ino)
    }

    func send(_ bytes: [UInt8]) throws {
        guard Glibc.send(fd, bytes, bytes.count, 0) == bytes.count else { throw SocketFailure("send") }
    }

    func sendTo(_ bytes: [UInt8], _ endpoint: SocketEndpoint) throws {
        try withSockaddr(endpoint, scope: 0) { address, length in
            guard sendto(fd, bytes, bytes.count, 0, address, length) == bytes.count else { throw SocketFailure("sendto") }
        }
    }

    /// Reads whatever is queued without waiting; nil when nothing is.
    func receiveNow() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return n < 0 ? nil : Array(buffer[0..<n])
    }
}

func withSockaddr<T>(_ endpoint: SocketEndpoint, scope: UInt32, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
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

func endpoint(from storage: sockaddr_storage) -> SocketEndpoint {
    var storage = storage
    if storage.ss_family == sa_family_t(AF_INET6) {
        return withUnsafeBytes(of: &storage) { raw in
            let port = UInt16(raw[2]) << 8 | UInt16(raw[3])
            return SocketEndpoint(address: IPAddress(networkBytes: raw[8..<24])!, port: port)
        }
    }
    return withUnsafeBytes(of: &storage) { raw in
        let port = UInt16(raw[2]) << 8 | UInt16(raw[3])
        return SocketEndpoint(address: IPAddress(networkBytes: raw[4..<8])!, port: port)
    }
}

extension SocketEndpoint {
    static func v4(_ text: String, _ port: UInt16) -> SocketEndpoint { SocketEndpoint(address: IPAddress(text)!, port: port) }
}
