import SystemPackage

/// Why a connection could not be made: the step that failed and the errno it failed with.
///
/// Errnos keep their kernel meaning, so callers can tell the kinds of exhaustion apart:
/// `EADDRNOTAVAIL` (no free port toward this destination, TCP), `EADDRINUSE` (the port or
/// the 4-tuple asked for is taken), `EAGAIN` (no free port toward this destination, UDP).
public struct ConnectXError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The step of a connection that failed.
    public enum Step: String, Sendable, Hashable, CaseIterable {
        /// The request itself (mixed address families, a zero destination port, a bad range).
        case arguments
        /// Resolving a host name (`getaddrinfo(3)`).
        case resolve = "name resolution"
        /// `socket(2)`.
        case socket
        /// `setsockopt(2)`; `detail` names the option.
        case setOption = "setsockopt"
        /// `getsockopt(2)`; `detail` names the option.
        case getOption = "getsockopt"
        /// `bind(2)`.
        case bind
        /// `connect(2)`, including the wait for a TCP handshake (`ETIMEDOUT`).
        case connect
        /// `getsockname(2)`.
        case localAddress = "getsockname"
        /// Finding the source address the kernel routes from (a throwaway UDP `connect()`).
        case sourceDiscovery = "source discovery"
        /// Reading `ip_local_port_range` / `ip_local_reserved_ports`.
        case portRange = "port range"
        /// Looking for a free port toward the destination (SOCK_DIAG lookups or a dump).
        case portSearch = "port search"
        /// Checking, under the `SO_REUSEADDR` lock, that the 4-tuple is ours (SOCK_DIAG lookup).
        case tupleCheck = "4-tuple check"
    }

    public var step: Step
    public var errno: Errno
    /// More context: the option name, the netlink error, the number of attempts.
    public var detail: String

    public init(step: Step, errno: Errno, detail: String = "") {
        self.step = step
        self.errno = errno
        self.detail = detail
    }

    /// The C name of the errno: `EADDRNOTAVAIL`.
    public var errnoName: String { ErrnoName.of(errno) }

    /// One sentence on what the failure means for ports.
    public var meaning: String {
        if step == .resolve { return "the name could not be resolved; not a port problem" }
        if step == .arguments { return "the request is malformed; nothing was tried" }
        switch errno {
        case .addressNotAvailable where step == .bind:
            return "the source address is not configured on this host"
        case .addressNotAvailable:
            return "no free local port toward this destination"
        case .addressInUse where step == .bind:
            return "the local port is taken: a port held by bind() is unavailable to every destination"
        case .addressInUse:
            return "this 4-tuple is already used by another socket"
        case .resourceTemporarilyUnavailable, .wouldBlock:
            return "no free local port toward this destination in the ephemeral range"
        case .connectionRefused:
            return "the destination refused the connection (nothing listens there); ports are fine"
        case .timedOut:
            return "no answer before the timeout; not a port shortage"
        case .noRouteToHost, .networkUnreachable, .hostIsDown:
            return "the destination is unreachable; not a port shortage"
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem:
            return "out of file descriptors, not ports"
        case .permissionDenied, .notPermitted:
            return "not permitted (a privileged port, or a firewall or policy)"
        case .invalidArgument:
            return "the addresses do not fit together (e.g. a link-local address without a scope)"
        case .addressFamilyNotSupported:
            return "the address family is not supported here"
        default:
            return "the kernel reported \(errno)"
        }
    }

    public var description: String {
        let context = detail.isEmpty ? step.rawValue : "\(step.rawValue) (\(detail))"
        return "\(context): \(errnoName): \(meaning)"
    }
}
