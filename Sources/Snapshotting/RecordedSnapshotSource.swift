import PortPressure
import SockDiag
import SocketModel

/// Snapshots from a file written by `DumpRecorder` (`portpressure report --record`): the same
/// analysis, without the kernel. Which duplicate socket receives and cgroup paths are answered
/// as the recording says the live run resolved them (unresolved when it holds no answer, as
/// in recordings made before it kept them). The range is the caller's (a recording holds no
/// range).
public struct RecordedSnapshotSource: SnapshotSource {
    public let path: String
    public let ephemeralRange: EphemeralRange

    public init(path: String, range: EphemeralRange) {
        self.path = path
        self.ephemeralRange = range
    }

    /// The range of the recorded host, which the recording does not hold: `portRange`
    /// ("LOW HIGH") and `reservedPorts` ("1000-1005,2000") as the user gives them; what is not
    /// given is taken from `current` (this namespace's range, read only when needed).
    public static func recordedRange(
        portRange: String?, reservedPorts: String?,
        current: () throws(EphemeralRangeError) -> EphemeralRange = EphemeralRangeReader.current
    ) throws(EphemeralRangeError) -> EphemeralRange {
        if let portRange { return try EphemeralRange.parse(portRange: portRange, reservedPorts: reservedPorts ?? "") }
        let here = try current()
        guard let reservedPorts else { return here }
        return EphemeralRange(low: here.low, high: here.high, reservedPorts: try EphemeralRange.parseReservedPorts(reservedPorts))
    }

    public func range() throws(SnapshotError) -> EphemeralRange { ephemeralRange }

    public func take(options: AnalysisOptions, range: EphemeralRange) throws(SnapshotError) -> TakenSnapshot {
        var analyzer = PortPressureAnalyzer(range: range, options: options)
        do {
            let replayed = try DumpReplay.replay(fileAt: path) { analyzer.add($0) }
            let resolutions = replayed.resolutions
            let snapshot = analyzer.finish()
                .resolvingReceivers { resolutions.answer(to: ExactLookup(receiverOf: $0)).map(ReceiverLookup.init) ?? .unresolved }
                .resolvingCgroupPaths { resolutions.cgroupPath(for: $0) }
            return TakenSnapshot(snapshot: snapshot, statistics: replayed.statistics)
        } catch {
            throw .sockDiag(error)
        }
    }
}
