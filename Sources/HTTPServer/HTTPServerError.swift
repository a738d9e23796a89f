#if canImport(Glibc)
import Glibc
#endif

/// Why the server could not start. Each case names the listen address as the user wrote it.
public enum HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The address is not `host:port`, `[ipv6]:port` or `:port`, or its host does not resolve.
    case invalidAddress(String, reason: String)
    /// A socket call failed while setting up the listener (`bind` with EADDRINUSE, for example).
    case listenFailed(address: String, operation: String, errno: Int32)
    /// libmicrohttpd refused to start a daemon on the socket.
    case daemonStartFailed(address: String)
    /// The TLS or authentication settings cannot be used (a certificate file GnuTLS cannot
    /// load, a priority string it refuses, a password hash libcrypt cannot check).
    case security(String)
    /// A socket handed over (by systemd) is not a listening TCP socket.
    case unusableInheritedSocket(fd: Int32, reason: String)

    public var description: String {
        switch self {
        case let .invalidAddress(address, reason):
            "invalid listen address \(address.debugDescription): \(reason)"
        case let .listenFailed(address, operation, errno):
            "cannot listen on \(address): \(operation): \(String(cString: strerror(errno)))"
        case let .daemonStartFailed(address):
            "cannot start the HTTP server on \(address) (libmicrohttpd refused the configuration)"
        case let .security(reason):
            reason
        case let .unusableInheritedSocket(fd, reason):
            "cannot serve on inherited descriptor \(fd): \(reason)"
        }
    }
}
