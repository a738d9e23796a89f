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
    private let descriptor: CInt
    /// True once closed or released: the descriptor is no longer ours.
    private let relinquished = Atomic<Bool>(false)

    init(_ socket: consuming OwnedSocket, proto: TransportProtocol, local: ConnectX.Endpoint,
         remote: ConnectX.Endpoint, technique: ConnectX.Technique) {
        self.descriptor = socket.release().rawValue
        self.proto = proto
        self.local = local
        self.remote = remote
        self.technique = technique
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
