import PortPressure
import SockDiag
import SocketModel
import Synchronization

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
    /// The protocols dumped (the cost rule may ask for one only: each dump walks the host's table).
    public let protocols: Set<TransportProtocol>
    private let rangeReader: @Sendable () throws(SnapshotError) -> EphemeralRange

    /// The calling thread's namespace's range, read fresh through `EphemeralRangeReader`.
    public static let ownRange: @Sendable () throws(SnapshotError) -> EphemeralRange = { () throws(SnapshotError) in
        do throws(EphemeralRangeError) { return try EphemeralRangeReader.current() } catch { throw .range(error) }
    }

    /// - Parameters:
    ///   - recorder: also writes the raw bytes of every dump there, and the answers of the
    ///     lookups and cgroup resolutions (`report --record`).
    ///   - protocols: the protocols to dump; the others are left out of the snapshot.
    ///   - range: reads the range of the client's namespace (a namespace's kept files, or this
    ///     thread's `/proc/sys` by default).
    public init(
        client: SockDiagClient,
        cgroups: CgroupPathResolver = CgroupPathResolver(),
        recorder: DumpRecorder? = nil,
        protocols: Set<TransportProtocol> = [.tcp, .udp],
        range: @escaping @Sendable () throws(SnapshotError) -> EphemeralRange = HostSnapshotter.ownRange
    ) {
        self.client = client
        self.cgroups = cgroups
        self.recorder = recorder
        self.protocols = protocols
        self.rangeReader = range
    }

    /// The effective ephemeral range, read fresh.
    public func range() throws(SnapshotError) -> EphemeralRange {
        try rangeReader()
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
        analyzer.reset()
        let total: DumpStatistics
        do { total = try dumpEverySocket(into: &analyzer) } catch { throw .sockDiag(error) }
        // Each answer goes to the recording too, so that a replay resolves what this run did.
        var recordingFailure: SockDiagError?
        func record(_ write: (DumpRecorder) throws(SockDiagError) -> Void) {
            guard let recorder, recordingFailure == nil else { return }
            do throws(SockDiagError) { try write(recorder) } catch { recordingFailure = error }
        }
        let snapshot = analyzer.finish()
            .resolvingReceivers { duplicate in
                let lookup = ExactLookup(receiverOf: duplicate)
                let answer = client.answer(lookup)
                record { recorder throws(SockDiagError) in try recorder.record(lookup, answer: answer) }
                return ReceiverLookup(answer)
            }
            .resolvingCgroupPaths { id in
                let path = cgroups.path(for: id)
                record { recorder throws(SockDiagError) in try recorder.recordCgroup(id: id, path: path) }
                return path
            }
        if let recordingFailure { throw .sockDiag(recordingFailure) }
        return TakenSnapshot(snapshot: snapshot, statistics: total)
    }

    /// Every TCP and UDP socket of both families into `analyzer`. TCP of both families in one
    /// request when the kernel takes it (one walk of its tables, not two); per family after a
    /// refusal, for the rest of the process. The client redoes interrupted dumps (resetting
    /// the analyzer); a refusal starts over here, and the recording is told so.
    private func dumpEverySocket(into analyzer: inout PortPressureAnalyzer) throws(SockDiagError) -> DumpStatistics {
        if !combinedRefused.load(ordering: .relaxed) {
            do {
                return try client.dump(queries(DumpQuery.everySocketCombined), recorder: recorder,
                                       restart: { analyzer.reset() }, visit: { analyzer.add($0) })
            } catch {
                guard case let .kernel(errno, _) = error,
                      [.invalidArgument, .noSuchFileOrDirectory, .notSupported].contains(errno) else { throw error }
                combinedRefused.store(true, ordering: .relaxed)
                analyzer.reset()
                try recorder?.restart()
            }
        }
        return try client.dump(queries(DumpQuery.everySocket), recorder: recorder, restart: { analyzer.reset() }, visit: { analyzer.add($0) })
    }

    /// The queries of `protocols` only.
    private func queries(_ all: [DumpQuery]) -> [DumpQuery] {
        all.filter { protocols.contains($0.proto) }
    }
}
