import NetworkNamespaces
import PortPressure
import SockDiag
import SocketModel

/// Why a snapshot of the host's sockets could not be taken.
public enum SnapshotError: Error, Sendable, CustomStringConvertible {
    case range(EphemeralRangeError)
    case sockDiag(SockDiagError)
    /// Another network namespace's handle could not be made or read.
    case namespace(NamespaceError)

    public var description: String {
        switch self {
        case let .range(error): "reading the ephemeral port range: \(error)"
        case let .sockDiag(error): "reading sockets: \(error)"
        case let .namespace(error): "\(error)"
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
