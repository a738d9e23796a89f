import SockDiag
import SystemPackage

/// Why a namespace's collection handles could not be made or read.
public enum NamespaceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// None of its paths opened the namespace discovered (its processes exited, or the path now
    /// shows another namespace): it is gone, or will be seen again at the next discovery.
    case vanished(NamespaceID)
    /// `open` of a namespace path failed with something else than "gone".
    case open(path: String, errno: Errno)
    /// `setns` into the namespace failed (`EPERM` without `CAP_SYS_ADMIN`).
    case enter(NamespaceID, errno: Errno)
    /// The entering thread could not return to its own namespace and ended; the namespaces it
    /// had not entered yet get this (a fresh thread tries them at the next refresh).
    case returnFailed(errno: Errno)
    /// The entering thread could not be started.
    case thread(errno: Errno)
    /// The SOCK_DIAG socket could not be made inside the namespace.
    case sockDiag(SockDiagError)
    /// A kernel file of the namespace could not be opened or read.
    case file(path: String, errno: Errno)
    /// A kernel file held something else than expected.
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .vanished(id): "network namespace \(id) is gone"
        case let .open(path, errno): "open \(path): \(errno) (errno \(errno.rawValue))"
        case let .enter(id, errno): "setns into network namespace \(id): \(errno) (errno \(errno.rawValue))"
        case let .returnFailed(errno): "setns back to the collector's own network namespace: \(errno) (errno \(errno.rawValue))"
        case let .thread(errno): "starting the namespace thread: \(errno) (errno \(errno.rawValue))"
        case let .sockDiag(error): "SOCK_DIAG socket in the namespace: \(error)"
        case let .file(path, errno): "\(path): \(errno) (errno \(errno.rawValue))"
        case let .malformed(path, reason): "\(path): \(reason)"
        }
    }

    /// Worth trying again at the next discovery (the namespace changed under us), as opposed to
    /// a failure that will repeat while the namespace lives.
    public var isTransient: Bool {
        switch self {
        case .vanished, .open, .thread, .returnFailed: true
        default: false
        }
    }
}
