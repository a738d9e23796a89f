import PortPressure
import SockDiag
import SocketModel

/// Why a snapshot of the host's sockets could not be taken.
public enum SnapshotError: Error, Sendable, CustomStringConvertible {
    case range(EphemeralRangeError)
    case sockDiag(SockDiagError)

    public var description: String {
        switch self {
        case let .range(error): "reading the ephemeral port range: \(error)"
        case let .sockDiag(error): "dumping sockets: \(error)"
        }
    }
}

/// A snapshot and how it was taken.
public struct TakenSnapshot: Sendable {
    public var snapshot: Snapshot
    /// Summed over the four dumps (TCP and UDP, IPv4 and IPv6).
    public var statistics: DumpStatistics
}

/// Takes port-pressure snapshots of the network namespace the client was created in: reads
/// the effective range, dumps every TCP and UDP socket of both families into one analyzer,
/// asks the kernel which socket of each kept duplicate UDP 4-tuple receives, and resolves
/// owners' cgroup paths. Shared by `report` and `serve`.
public final class HostSnapshotter: Sendable {
    private let client: SockDiagClient
    private let cgroups: CgroupPathResolver
    private let readRange: @Sendable () throws(EphemeralRangeError) -> EphemeralRange

    public init(
        client: SockDiagClient,
        cgroups: CgroupPathResolver = CgroupPathResolver(),
        readRange: @escaping @Sendable () throws(EphemeralRangeError) -> EphemeralRange = { () throws(EphemeralRangeError) in
            try EphemeralRangeReader.current()
        }
    ) {
        self.client = client
        self.cgroups = cgroups
        self.readRange = readRange
    }

    /// The effective ephemeral range, read fresh.
    public func range() throws(SnapshotError) -> EphemeralRange {
        do { return try readRange() } catch { throw .range(error) }
    }

    /// One snapshot against `range` (read fresh when nil).
    public func take(options: AnalysisOptions, range givenRange: EphemeralRange? = nil) throws(SnapshotError) -> TakenSnapshot {
        let range: EphemeralRange
        if let givenRange { range = givenRange } else { range = try self.range() }
        var analyzer = PortPressureAnalyzer(range: range, options: options)
        var total = DumpStatistics()
        // The client redoes one query's dump when the kernel marks it NLM_F_DUMP_INTR; the
        // analyzer can only forget everything, so a restart retakes the whole snapshot
        // (bounded): records from the queries before it must not be lost.
        var complete = false
        for _ in 0..<SockDiagClient.maximumDumpAttempts where !complete {
            analyzer.reset()
            var restarted = false
            for query in DumpQuery.everySocket {
                do {
                    let statistics = try client.dump(query, restart: { restarted = true }) { analyzer.add($0) }
                    total.records += statistics.records
                    total.messages += statistics.messages
                    total.bytes += statistics.bytes
                    total.retries += statistics.retries
                } catch {
                    throw .sockDiag(error)
                }
                if restarted { break }
            }
            complete = !restarted
        }
        guard complete else { throw .sockDiag(.dumpInterrupted(attempts: SockDiagClient.maximumDumpAttempts)) }
        let snapshot = analyzer.finish()
            .resolvingReceivers { duplicate in
                do {
                    let found = try client.lookup(
                        proto: .udp, local: duplicate.local, remote: duplicate.remote,
                        interfaceIndex: duplicate.sockets.first?.interfaceIndex ?? 0
                    )
                    return found.map { .socket(cookie: $0.cookie) } ?? .noSocket
                } catch {
                    return .failed("\(error)")
                }
            }
            .resolvingCgroupPaths { cgroups.path(for: $0) }
        return TakenSnapshot(snapshot: snapshot, statistics: total)
    }
}
