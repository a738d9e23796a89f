import Metrics
import PortPressure
import Snapshotting
import SockDiag
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

/// Which network namespaces a scrape covers: the exporter's own (the default), or every
/// namespace of the host (`--collector.netns`).
public enum NamespaceMode: Sendable {
    /// The exporter's own namespace; `netns` is its inode, the label value of every
    /// namespace-scoped family.
    case own(netns: String)
    /// Every namespace; at most `maximum` exported in full (highest pressure first).
    case all(NamespacesSnapshotter, maximum: Int?)
}

/// What the collectors of one scrape share: the range is read and the sockets are dumped at
/// most once per scrape, so every family of a scrape describes the same moment.
/// Used by one thread at a time (the scrape's).
public final class Scrape {
    public let source: any SnapshotSource
    public let options: AnalysisOptions
    public let mode: NamespaceMode
    private var range: Result<EphemeralRange, SnapshotError>?
    private var snapshot: Result<TakenSnapshot, SnapshotError>?
    private var namespaces: NamespacesSnapshot?

    public init(source: any SnapshotSource, options: AnalysisOptions, mode: NamespaceMode = .own(netns: "")) {
        self.source = source
        self.options = options
        self.mode = mode
    }

    /// The effective ephemeral range of the own namespace, read once per scrape.
    public func ephemeralRange() throws(SnapshotError) -> EphemeralRange {
        if range == nil {
            do { range = .success(try source.range()) } catch { range = .failure(error) }
        }
        return try range!.get()
    }

    /// The own namespace's socket snapshot, taken once per scrape against `ephemeralRange()`.
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

    /// Every namespace of the host, taken once per scrape; nil in the own-namespace mode.
    public func allNamespaces() -> NamespacesSnapshot? {
        guard case let .all(snapshotter, maximum) = mode else { return nil }
        if namespaces == nil { namespaces = snapshotter.take(options: options, maximum: maximum) }
        return namespaces
    }

    /// The namespaces whose families this scrape exports: the own one, or the exported ones of
    /// `allNamespaces()`.
    public func scopes() -> [NamespaceScope] {
        switch mode {
        case let .own(netns): [NamespaceScope(netns: netns, exact: [.tcp, .udp], content: .own(self))]
        case .all: allNamespaces()!.exported.map { NamespaceScope(netns: $0.netns, exact: $0.summary.exactProtocols, content: .measured($0)) }
        }
    }

    /// Every namespace, if a collector of this scrape took them (no survey is started here).
    public var takenNamespaces: NamespacesSnapshot? { namespaces }

    /// The snapshot if one was taken in this scrape (for the landing page and logs).
    public var takenSnapshot: TakenSnapshot? { try? snapshot?.get() }
}

/// One namespace's part of a scrape, with the `netns` label its families carry.
public struct NamespaceScope {
    public let netns: String
    /// The protocols with exact figures: the others were not dumped (their series are left out;
    /// `portpressure_netns_figures_exact` and the bound say so).
    public let exact: Set<TransportProtocol>
    fileprivate enum Content {
        case own(Scrape)
        case measured(MeasuredNamespace)
    }
    fileprivate let content: Content

    public func range() throws(SnapshotError) -> EphemeralRange {
        switch content {
        case let .own(scrape): try scrape.ephemeralRange()
        case let .measured(namespace): namespace.summary.snapshot.range
        }
    }

    public func snapshot() throws(SnapshotError) -> Snapshot {
        switch content {
        case let .own(scrape): try scrape.socketSnapshot().snapshot
        case let .measured(namespace): namespace.summary.snapshot
        }
    }

    /// The namespace's `KernelSettings` (the own one's read from `procSys`).
    public func kernelSettings(procSys: String) -> [KernelSetting] {
        switch content {
        case .own: KernelSettings.current(procSys: procSys)
        case let .measured(namespace): namespace.kernelSettings
        }
    }
}

extension NamespaceSummary {
    var exactProtocols: Set<TransportProtocol> {
        Set([TransportProtocol.tcp, .udp].filter { figures($0).exact })
    }
}
