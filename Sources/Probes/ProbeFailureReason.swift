import SystemPackage

/// Why a probe failed: the `reason` label of `portpressure_probe_failures_total`.
///
/// The errno-named reasons keep the kernel's meaning, which tells the kinds of port
/// exhaustion apart: `eaddrnotavail` (TCP: no free local port toward this destination),
/// `eagain` (UDP: no free local port), `eaddrinuse` (the port or 4-tuple asked for is taken,
/// e.g. `bind(ip, 0)` with every port of the range held by some socket).
public enum ProbeFailureReason: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case eaddrnotavail
    case eaddrinuse
    case eagain
    case econnrefused
    /// The handshake, the reply or the name resolution did not finish within the timeout.
    case etimedout
    /// `EHOSTUNREACH`, and also `ENETUNREACH` and `EHOSTDOWN`: no route or no answer from
    /// the network.
    case ehostunreach
    /// A reply came and did not start with the expected bytes (or a TCP peer closed first).
    case unexpectedReply = "unexpected_reply"
    /// A UDP probe's socket is not the one the kernel delivers the target's datagrams to:
    /// another socket holds the same 4-tuple and takes its replies.
    case overshadowed
    /// Anything else (an unknown name, out of file descriptors, a netlink failure...).
    case other

    /// The reason an errno stands for.
    public init(errno: Errno) {
        switch errno {
        case .addressNotAvailable: self = .eaddrnotavail
        case .addressInUse: self = .eaddrinuse
        case .resourceTemporarilyUnavailable, .wouldBlock: self = .eagain
        case .connectionRefused: self = .econnrefused
        case .timedOut: self = .etimedout
        case .noRouteToHost, .networkUnreachable, .hostIsDown: self = .ehostunreach
        default: self = .other
        }
    }

    public var description: String { rawValue }
}
