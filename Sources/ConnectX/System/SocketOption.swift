#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `level` argument of `setsockopt(2)` / `getsockopt(2)`.
struct SocketOptionLevel: RawRepresentable, Hashable, Sendable {
    var rawValue: CInt
    init(rawValue: CInt) { self.rawValue = rawValue }

    /// `SOL_SOCKET`: options of the socket layer.
    static let socket = SocketOptionLevel(rawValue: SOL_SOCKET)
    /// `SOL_IP` (`IPPROTO_IP`): IPv4 options; IPv6 sockets accept the ones used here too.
    static let ip = SocketOptionLevel(rawValue: CInt(IPPROTO_IP))
}

/// One socket option: a level, a name, and the C name for error messages.
struct SocketOption: Hashable, Sendable, CustomStringConvertible {
    var level: SocketOptionLevel
    var name: CInt
    /// The C macro name, e.g. `SO_REUSEADDR`.
    var description: String

    /// `SO_REUSEADDR`: lets `bind()` share a local (address, port) with other sockets that
    /// set it too. ConnectX's UDP lock clears it while it checks the 4-tuple.
    static let reuseAddress = SocketOption(level: .socket, name: SO_REUSEADDR, description: "SO_REUSEADDR")
    /// `SO_ERROR` (read once): the pending error of a non-blocking `connect()`.
    static let error = SocketOption(level: .socket, name: SO_ERROR, description: "SO_ERROR")
    /// `SO_COOKIE` (57, Linux 4.13): the socket's 64-bit id, as SOCK_DIAG reports it.
    static let cookie = SocketOption(level: .socket, name: 57, description: "SO_COOKIE")
    /// `IP_BIND_ADDRESS_NO_PORT` (24, Linux 4.2): `bind(ip, 0)` defers choosing the port to
    /// `connect()`, which then only needs the 4-tuple to be free.
    static let bindAddressNoPort = SocketOption(level: .ip, name: 24, description: "IP_BIND_ADDRESS_NO_PORT")
    /// `IP_LOCAL_PORT_RANGE` (51, Linux 6.3): a per-socket ephemeral range, `high << 16 | low`,
    /// narrowing the namespace's range.
    static let localPortRange = SocketOption(level: .ip, name: 51, description: "IP_LOCAL_PORT_RANGE")
}

/// The `type` argument of `socket(2)`.
struct SocketType: RawRepresentable, Hashable, Sendable {
    var rawValue: CInt
    init(rawValue: CInt) { self.rawValue = rawValue }

    /// `SOCK_STREAM` (TCP).
    static let stream = SocketType(rawValue: CInt(SOCK_STREAM.rawValue))
    /// `SOCK_DGRAM` (UDP).
    static let datagram = SocketType(rawValue: CInt(SOCK_DGRAM.rawValue))
}
