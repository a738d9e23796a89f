import PortPressure
import SockDiag
import SocketModel
import Synchronization

/// Why a snapshot of the host's sockets could not be taken.
public enum SnapshotError: Error, Sendable, CustomStringConvertible {
    case range(EphemeralRangeError)
    case sockDiag(SockDiagError)

    public var description: String {
        switch self {
        case let .range(error): "reading the ephemeral port range: \(error)"
        case let .sockDiag(error): "reading sockets: \(error)"
        }
    }
}

/// A snapshot and how it was taken.
public struct TakenSnapshot: Sendable {
    public var snapshot: Snapshot
    /// Summed over the four dumps (TCP and UDP, IPv4 and IPv6).
    public var statistics: DumpStatistics
}

/// Where snapshots come from: the live kernel (`HostSnapshotter`) or a recording
/// (`RecordedSnapshotSource`).
public protocol SnapshotSource: Sendable {
    /// The effective ephemeral range, read fresh.
    func range() throws(SnapshotError) -> EphemeralRange
    /// One snapshot against `range`.
    func take(options: AnalysisOptions, range: EphemeralRange) throws(SnapshotError) -> TakenSnapshot
}

extension SnapshotSource {
    /// One snapshot against a freshly read range.
    public func take(options: AnalysisOptions) throws(SnapshotError) -> TakenSnapshot {
        try take(options: options, range: try range())
    }
}

/// Takes port-pressure snapshots of the network namespace the client was created in: reads
/// the effective range, dumps every TCP and UDP socket of both families into one analyzer,
/// asks the kernel which socket of each kept duplicate UDP 4-tuple receives, and resolves
/// owners' cgroup paths. Shared by `report` and `serve`.
public final class HostSnapshotter: SnapshotSource {
    private let client: SockDiagClient
    private let cgroups: CgroupPathResolver
    private let recorder: DumpRecorder?
    /// Set once the kernel refused the both-families TCP request.
    private let combinedRefused = Atomic<Bool>(false)
    /// The analyzer of the last snapshot, kept for its allocated tables.
    private let spareAnalyzer = Mutex<PortPressureAnalyzer?>(nil)

    /// - Parameter recorder: also writes the raw bytes of every dump there (`report --record`).
    public init(
        client: SockDiagClient,
        cgroups: CgroupPathResolver = CgroupPathResolver(),
        recorder: DumpRecorder? = nil
    ) {
        self.client = client
        self.cgroups = cgroups
        self.recorder = recorder
    }

    /// The effective ephemeral range, read fresh.
    public func range() throws(SnapshotError) -> EphemeralRange {
        do { return try EphemeralRangeReader.current() } catch { throw .range(error) }
    }

    public func take(options: AnalysisOptions, range: EphemeralRange) throws(SnapshotError) -> TakenSnapshot {
        // Reuse the last analyzer when it counted against the same range and options: reset()
        // keeps its tables, so a scrape of a large host doesn't regrow them every time. A
        // concurrent take (another selection) finds none cached and makes its own.
        var analyzer = spareAnalyzer.withLock { spare -> PortPressureAnalyzer? in
            defer { spare = nil }
            return spare
        }.flatMap { $0.range == range && $0.options == options ? $0 : nil }
            ?? PortPressureAnalyzer(range: range, options: options)
        defer { spareAnalyzer.withLock { $0 = analyzer } }
        var total = DumpStatistics()
        // TCP of both families in one request when the kernel takes it (one walk of its
        // tables, not two); per family after a refusal, for the rest of the process.
        var queries = combinedRefused.load(ordering: .relaxed) ? DumpQuery.everySocket : DumpQuery.everySocketCombined
        // The client redoes one query's dump when the kernel marks it NLM_F_DUMP_INTR; the
        // analyzer can only forget everything, so a restart retakes the whole snapshot
        // (bounded): records from the queries before it must not be lost.
        var attempts = 0
        var complete = false
        while !complete && attempts < SockDiagClient.maximumDumpAttempts {
            attempts += 1
            analyzer.reset()
            var restarted = false
            var refused = false
            for query in queries {
                do {
                    let statistics = try client.dump(query, recorder: recorder, restart: { restarted = true }) { analyzer.add($0) }
                    total.records += statistics.records
                    total.messages += statistics.messages
                    total.bytes += statistics.bytes
                    total.retries += statistics.retries
                } catch {
                    guard query.family == nil, case let .kernel(errno, _) = error,
                          [.invalidArgument, .noSuchFileOrDirectory, .notSupported].contains(errno) else {
                        throw .sockDiag(error)
                    }
                    combinedRefused.store(true, ordering: .relaxed)
                    queries = DumpQuery.everySocket
                    refused = true
                    attempts -= 1
                    break
                }
                if restarted { break }
            }
            complete = !restarted && !refused
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

/// Snapshots from a file written by `DumpRecorder` (`portpressure report --record`): the same
/// analysis, without the kernel. Which duplicate socket receives and cgroup paths can't be
/// asked of a recording, so they stay unknown. The range is the caller's (a recording holds
/// sockets only).
public struct RecordedSnapshotSource: SnapshotSource {
    public let path: String
    public let ephemeralRange: EphemeralRange

    public init(path: String, range: EphemeralRange) {
        self.path = path
        self.ephemeralRange = range
    }

    public func range() throws(SnapshotError) -> EphemeralRange { ephemeralRange }

    public func take(options: AnalysisOptions, range: EphemeralRange) throws(SnapshotError) -> TakenSnapshot {
        var analyzer = PortPressureAnalyzer(range: range, options: options)
        do {
            let statistics = try DumpReplay.replay(fileAt: path, restart: { analyzer.reset() }) { analyzer.add($0) }
            return TakenSnapshot(snapshot: analyzer.finish(), statistics: statistics)
        } catch {
            throw .sockDiag(error)
        }
    }
}
