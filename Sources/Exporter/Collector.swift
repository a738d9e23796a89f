import Metrics
import PortPressure
import Snapshotting
import SocketModel

/// One named source of metric families, in node_exporter's manner: enabled with
/// `--collector.<name>`, selected per scrape with `collect[]`/`exclude[]`, and reported in
/// `portpressure_scrape_collector_success{collector="<name>"}`.
public protocol Collector: Sendable {
    /// The name in flags, query parameters and the `collector` label.
    var name: String { get }
    /// One line for `--help` and the README.
    var summary: String { get }
    /// The families of one scrape; throws when the collector's source failed (then the
    /// scrape reports it as failed and shows none of its families, never stale ones).
    func collect(_ scrape: Scrape) throws -> [MetricFamily]
}

/// What the collectors of one scrape share: the range is read and the sockets are dumped at
/// most once per scrape, so every family of a scrape describes the same moment.
/// Used by one thread at a time (the scrape's).
public final class Scrape {
    public let source: any SnapshotSource
    public let options: AnalysisOptions
    private var range: Result<EphemeralRange, SnapshotError>?
    private var snapshot: Result<TakenSnapshot, SnapshotError>?

    public init(source: any SnapshotSource, options: AnalysisOptions) {
        self.source = source
        self.options = options
    }

    /// The effective ephemeral range, read once per scrape.
    public func ephemeralRange() throws(SnapshotError) -> EphemeralRange {
        if range == nil {
            do { range = .success(try source.range()) } catch { range = .failure(error) }
        }
        return try range!.get()
    }

    /// The socket snapshot, taken once per scrape against `ephemeralRange()`.
    public func socketSnapshot() throws(SnapshotError) -> TakenSnapshot {
        if snapshot == nil {
            do {
                let range = try ephemeralRange()
                snapshot = .success(try source.take(options: options, range: range))
            } catch {
                snapshot = .failure(error)
            }
        }
        return try snapshot!.get()
    }

    /// The snapshot if one was taken in this scrape (for the landing page and logs).
    public var takenSnapshot: TakenSnapshot? { try? snapshot?.get() }
}
