import SocketModel
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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

    private let session: Mutex<NetlinkSession>

    /// Opens and binds the netlink socket (`socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)`).
    public init() throws(SockDiagError) {
        session = Mutex(try NetlinkSession())
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
        try session.withLock { (session: inout NetlinkSession) throws(SockDiagError) -> DumpStatistics in
            try Self.dump(query, countOnly: false, session: &session, recorder: recorder, restart: restart, visit: visit)
        }
    }

    /// The number of sockets matching `query`: the same dump, walking message headers only
    /// (no record is decoded). The floor any consumer of a dump can reach.
    public func count(_ query: DumpQuery) throws(SockDiagError) -> Int {
        try session.withLock { (session: inout NetlinkSession) throws(SockDiagError) -> Int in
            try Self.dump(query, countOnly: true, session: &session, recorder: nil, restart: {}, visit: { _ in }).records
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
        guard local.address.family == remote.address.family else { return nil }
        return try session.withLock { (session: inout NetlinkSession) throws(SockDiagError) -> SocketRecord? in
            let sequence = session.nextSequence()
            let request = InetDiagRequest.lookup(
                proto: proto, local: local, remote: remote, interfaceIndex: interfaceIndex, cookie: cookie, sequence: sequence
            )
            try session.send(request)
            let datagram: UnsafeRawBufferPointer
            do throws(SockDiagError) {
                datagram = try session.receive()
            } catch {
                session.abandonReply()
                throw error
            }
            do throws(WireError) {
                return try LookupReplyParser.parse(
                    datagram, proto: proto, expected: ReplyAddress(sequence: sequence, portID: session.portID)
                )
            } catch {
                switch error {
                case .kernel(code: ENOENT): return nil
                case .kernel: break
                case .malformed: session.abandonReply()
                }
                throw SockDiagError(error, request: "lookup \(proto.name) \(local) <- \(remote)")
            }
        }
    }

    private static func dump(
        _ query: DumpQuery, countOnly: Bool, session: inout NetlinkSession,
        recorder: DumpRecorder?, restart: () -> Void, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) -> DumpStatistics {
        let name = "dump \(query)"
        var statistics = DumpStatistics()
        for attempt in 1...maximumDumpAttempts {
            if attempt > 1 {
                restart()
                statistics.retries += 1
            }
            let sequence = session.nextSequence()
            let request: [UInt8]
            do {
                request = try InetDiagRequest.dump(query, sequence: sequence)
            } catch {
                throw SockDiagError(error, request: name)
            }
            try session.send(request)
            var parser = DumpParser(
                proto: query.proto, expected: ReplyAddress(sequence: sequence, portID: session.portID), countOnly: countOnly
            )
            do throws(SockDiagError) {
                try recorder?.beginDump(proto: query.proto, family: query.family)
                try receiveDump(into: &parser, session: &session, recorder: recorder, query: query, visit: visit)
            } catch {
                statistics.messages += parser.messages
                statistics.bytes += parser.bytes
                session.abandonReply()
                throw error
            }
            statistics.messages += parser.messages
            statistics.bytes += parser.bytes
            if !parser.interrupted {
                statistics.records = parser.records
                return statistics
            }
        }
        throw .dumpInterrupted(attempts: maximumDumpAttempts)
    }

    private static func receiveDump(
        into parser: inout DumpParser, session: inout NetlinkSession,
        recorder: DumpRecorder?, query: DumpQuery, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) {
        for _ in 0..<NetlinkSession.maximumDatagrams {
            let datagram = try session.receive()
            try recorder?.record(datagram, proto: query.proto, family: query.family)
            do {
                if try parser.consume(datagram, visit: visit) == .finished { return }
            } catch {
                throw SockDiagError(error, request: "dump \(query)")
            }
        }
        throw .malformed("dump \(query) did not end within \(NetlinkSession.maximumDatagrams) datagrams")
    }
}
