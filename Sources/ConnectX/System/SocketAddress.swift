#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SocketModel

/// A `sockaddr_in`, `sockaddr_in6`, or an `AF_UNSPEC` address: what `bind(2)`, `connect(2)`
/// and `getsockname(2)` take and give. Kernel structs stay inside this type.
enum SocketAddress {
    case ipv4(sockaddr_in)
    case ipv6(sockaddr_in6)
    /// `AF_UNSPEC`: `connect()` to it dissolves a UDP socket's association.
    case unspecified

    init(_ endpoint: ConnectX.Endpoint) {
        switch endpoint.address.family {
        case .ipv4:
            var raw = sockaddr_in()
            raw.sin_family = sa_family_t(AF_INET)
            raw.sin_port = endpoint.port.bigEndian
            raw.sin_addr.s_addr = UInt32(truncatingIfNeeded: endpoint.address.low).bigEndian
            self = .ipv4(raw)
        case .ipv6:
            var raw = sockaddr_in6()
            raw.sin6_family = sa_family_t(AF_INET6)
            raw.sin6_port = endpoint.port.bigEndian
            raw.sin6_scope_id = endpoint.scopeID
            let bytes = endpoint.address.networkBytes
            withUnsafeMutableBytes(of: &raw.sin6_addr) { destination in
                for i in 0..<16 { destination[i] = bytes[i] }
            }
            self = .ipv6(raw)
        }
    }

    /// Reads the address the kernel wrote into `storage`; nil for a family other than
    /// IPv4/IPv6 or a length too short for it.
    init?(storage: sockaddr_storage, length: socklen_t) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET where Int(length) >= MemoryLayout<sockaddr_in>.size:
            self = .ipv4(withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) })
        case AF_INET6 where Int(length) >= MemoryLayout<sockaddr_in6>.size:
            self = .ipv6(withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) })
        default:
            return nil
        }
    }

    /// The endpoint this address names; nil for `AF_UNSPEC`.
    var endpoint: ConnectX.Endpoint? {
        switch self {
        case .ipv4(let raw):
            return ConnectX.Endpoint(
                address: IPAddress(ipv4: UInt32(bigEndian: raw.sin_addr.s_addr)),
                port: UInt16(bigEndian: raw.sin_port))
        case .ipv6(let raw):
            var addr = raw.sin6_addr
            let address = withUnsafeBytes(of: &addr) { IPAddress(networkBytes: $0)! }
            return ConnectX.Endpoint(address: address, port: UInt16(bigEndian: raw.sin6_port), scopeID: raw.sin6_scope_id)
        case .unspecified:
            return nil
        }
    }

    /// Calls `body` with a `sockaddr` pointer and its length, for the socket calls.
    func withSockaddr<Result, Failure: Error>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        switch self {
        case .ipv4(var raw):
            return try withUnsafePointer(to: &raw) { pointer throws(Failure) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(Failure) in
                    try body(sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .ipv6(var raw):
            return try withUnsafePointer(to: &raw) { pointer throws(Failure) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(Failure) in
                    try body(sa, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        case .unspecified:
            var raw = sockaddr()
            raw.sa_family = sa_family_t(AF_UNSPEC)
            return try withUnsafePointer(to: &raw) { sa throws(Failure) in
                try body(sa, socklen_t(MemoryLayout<sockaddr>.size))
            }
        }
    }
}
