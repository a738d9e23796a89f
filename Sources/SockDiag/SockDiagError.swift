import SystemPackage

/// Why a SOCK_DIAG request failed.
public enum SockDiagError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed: `socket`, `bind`, `sendto`, `recvfrom` (`ENOBUFS` when the
    /// receive queue overflowed, `EAGAIN` when the kernel did not answer in time), or file I/O
    /// of a recording.
    case system(operation: String, errno: Errno)
    /// The kernel answered `NLMSG_ERROR` (`EPERM`, `EINVAL` for a refused filter, `ESTALE` for
    /// a cookie mismatch, ...) or ended a dump with an error.
    case kernel(errno: Errno, request: String)
    /// Every attempt of a dump came back marked `NLM_F_DUMP_INTR`.
    case dumpInterrupted(attempts: Int)
    /// Truncated or inconsistent bytes from the kernel or a recording; also a filter too large
    /// to send.
    case malformed(String)

    public var description: String {
        switch self {
        case let .system(operation, errno): "\(operation): \(errno) (errno \(errno.rawValue))"
        case let .kernel(errno, request): "kernel refused \(request): \(errno) (errno \(errno.rawValue))"
        case let .dumpInterrupted(attempts): "socket dump interrupted by concurrent changes \(attempts) times in a row"
        case let .malformed(reason): "malformed SOCK_DIAG data: \(reason)"
        }
    }

    init(_ wire: WireError, request: @autoclosure () -> String) {
        switch wire {
        case let .malformed(reason): self = .malformed(reason)
        case let .kernel(code): self = .kernel(errno: Errno(rawValue: code), request: request())
        }
    }
}
