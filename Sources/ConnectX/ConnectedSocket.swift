import SocketModel
import Synchronization
import SystemPackage

/// A connected TCP or UDP socket. It owns its descriptor: `close()` or the release of the
/// last reference closes it, once.
public final class ConnectedSocket: Sendable, CustomStringConvertible {
    public let proto: TransportProtocol
    /// The local address and port the connection uses (with the IPv6 scope).
    public let local: ConnectX.Endpoint
    public let remote: ConnectX.Endpoint
    /// How the local port was obtained.
    public let technique: ConnectX.Technique
    /// What finding the port cost (UDP `connectx` only; nil otherwise).
    public let searchCost: PortSearchCost?
    private let descriptor: CInt
    /// True once closed or released: the descriptor is no longer ours.
    private let relinquished = Atomic<Bool>(false)

    init(_ socket: consuming OwnedSocket, proto: TransportProtocol, local: ConnectX.Endpoint,
         remote: ConnectX.Endpoint, technique: ConnectX.Technique, searchCost: PortSearchCost? = nil) {
        self.descriptor = socket.release().rawValue
        self.proto = proto
        self.local = local
        self.remote = remote
        self.technique = technique
        self.searchCost = searchCost
    }

    /// The descriptor, for `send`/`recv` and socket options; valid until `close()`.
    public var fileDescriptor: FileDescriptor { FileDescriptor(rawValue: descriptor) }

    /// False after `close()` or `release()`.
    public var isOpen: Bool { !relinquished.load(ordering: .acquiring) }

    /// `close(2)`s the descriptor; later calls do nothing.
    public func close() {
        if !relinquished.exchange(true, ordering: .acquiringAndReleasing) {
            try? SocketDescriptor(rawValue: descriptor).close()
        }
    }

    /// Hands the descriptor over to the caller, who must close it; nil if already closed.
    public func release() -> FileDescriptor? {
        relinquished.exchange(true, ordering: .acquiringAndReleasing) ? nil : FileDescriptor(rawValue: descriptor)
    }

    /// `udp 127.0.0.1:40001 -> 127.0.0.2:53`.
    public var description: String { "\(proto.name) \(local) -> \(remote)" }

    deinit { close() }
}

/// The SOCK_DIAG work one UDP `connectx` call did to find its port.
public struct PortSearchCost: Sendable, Hashable, CustomStringConvertible {
    /// Exact 4-tuple lookups: one per port looked at, and one per claim.
    public var lookups = 0
    /// Filtered dumps of the source's sockets (0 or 1).
    public var dumps = 0
    /// Ports bound under the lock (a claim lost to another socket makes it more than 1).
    public var claims = 0

    public init(lookups: Int = 0, dumps: Int = 0, claims: Int = 0) {
        self.lookups = lookups
        self.dumps = dumps
        self.claims = claims
    }

    public var description: String { "\(lookups) lookups, \(dumps) dumps, \(claims) claims" }
}
