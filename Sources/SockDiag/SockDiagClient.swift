import SocketModel
import Synchronization
import SystemPackage


/// A client of the kernel's socket tables over `NETLINK_SOCK_DIAG` (inet_diag): dumps, counts
/// and exact lookups of TCP and UDP sockets, IPv4 and IPv6.
///
/// One netlink socket, opened in `init` and reused for every request; a lock serializes
/// requests, so one client can be shared between threads. The socket belongs to the network
/// namespace of the thread that created the client: create it on the thread (or inside the
/// `NetworkNamespace.run` closure) whose namespace you want to see.
///
/// Visitors run while the lock is held: a visitor must not call back into the same client.
public final class SockDiagClient: Sendable {
    /// Attempts of one dump before `NLM_F_DUMP_INTR` is reported as `.dumpInterrupted`.
    public static let maximumDumpAttempts = 3

    private let session: Mutex<any NetlinkTransport & ~Copyable>

    /// Opens and binds the netlink socket (`socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)`).
    public convenience init() throws(SockDiagError) {
        self.init(transport: try NetlinkSession())
    }

    /// A client over another transport: tests script the kernel's replies with one.
    package init(transport: consuming sending some NetlinkTransport & ~Copyable) {
        session = Mutex(transport)
    }

    /// Streams every socket matching `query` to `visit` as it is parsed from the receive buffer
    /// (nothing is held in memory). When the kernel marks the dump `NLM_F_DUMP_INTR` (its
    /// tables changed under it), `restart` is called and the dump is done again, at most
    /// `maximumDumpAttempts` times in all; visitors reset their state in `restart`.
    /// With a `recorder`, every received datagram is also written to it.
    @discardableResult
    public func dump(
        _ query: DumpQuery, recorder: DumpRecorder? = nil,
        restart: () -> Void = {}, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) -> DumpStatistics {
        try dump([query], recorder: recorder, restart: restart, visit: visit)
    }

    /// Streams the sockets of every query in order to one visitor. When the kernel interrupts
    /// any of the dumps, `restart` is called and the whole sequence is dumped again (the
    /// visitor cannot forget one query's sockets alone), at most `maximumDumpAttempts` times;
    /// the recorder then holds a restart frame, so a replay sees what the visitor kept.
    @discardableResult
    public func dump(
        _ queries: [DumpQuery], recorder: DumpRecorder? = nil,
        restart: () -> Void = {}, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) -> DumpStatistics {
        try session.withLock { (session: inout any NetlinkTransport & ~Copyable) throws(SockDiagError) -> DumpStatistics in
            try SockDiagRequests.dump(
                queries, countOnly: false, maximumAttempts: Self.maximumDumpAttempts, transport: &session,
                recorder: recorder, restart: restart, visit: visit
            )
        }
    }

    /// The number of sockets matching `query`: the same dump, walking message headers only
    /// (no record is decoded). The floor any consumer of a dump can reach.
    public func count(_ query: DumpQuery) throws(SockDiagError) -> Int {
        try session.withLock { (session: inout any NetlinkTransport & ~Copyable) throws(SockDiagError) -> Int in
            try SockDiagRequests.dump(
                [query], countOnly: true, maximumAttempts: Self.maximumDumpAttempts, transport: &session,
                recorder: nil, restart: {}, visit: { _ in }
            ).records
        }
    }

    /// `lookup` made, with its outcome as a recording keeps it: the cookie of the socket the
    /// kernel returned, none, or the error described.
    public func answer(_ lookup: ExactLookup) -> LookupAnswer {
        do {
            let found = try self.lookup(proto: lookup.proto, local: lookup.local, remote: lookup.remote,
                                        interfaceIndex: lookup.interfaceIndex)
            return found.map { .socket(cookie: $0.cookie) } ?? .noSocket
        } catch {
            return .failed("\(error)")
        }
    }

    /// Exact lookup of one socket by 4-tuple (`SOCK_DIAG_BY_FAMILY` without `NLM_F_DUMP`): the
    /// socket the kernel would deliver a packet from `remote` to `local` to, as the kernel
    /// returns it, or nil when there is none (`ENOENT`).
    ///
    /// The answer may be a best match: a listener for TCP, an unconnected or wildcard-bound
    /// socket for UDP when no connected one matches. Compare what comes back. UDP's swapped
    /// source and destination are handled here. `interfaceIndex` scopes link-local addresses.
    /// With `cookie`, a socket found with another cookie answers `.kernel(ESTALE)`.
    /// Endpoints of different families match no socket: nil.
    public func lookup(
        proto: TransportProtocol, local: SocketEndpoint, remote: SocketEndpoint,
        interfaceIndex: UInt32 = 0, cookie: UInt64? = nil
    ) throws(SockDiagError) -> SocketRecord? {
        try session.withLock { (session: inout any NetlinkTransport & ~Copyable) throws(SockDiagError) -> SocketRecord? in
            try SockDiagRequests.lookup(
                proto: proto, local: local, remote: remote, interfaceIndex: interfaceIndex, cookie: cookie, transport: &session
            )
        }
    }
}
