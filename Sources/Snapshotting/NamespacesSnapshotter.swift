import NetworkNamespaces
import PortPressure
import SockDiag
import SocketModel
import Synchronization

/// Every network namespace of the host at one moment (`serve --collector.netns`,
/// `report --all-namespaces`).
public struct NamespacesSnapshot: Sendable {
    /// Namespaces discovered (exported or not, measured or not): always exported.
    public var discovered: Int
    /// Namespaces measured, highest pressure first; the first `exported` are exported in full.
    public var measured: [MeasuredNamespace]
    /// How many of `measured` `--collector.netns.max` lets through.
    public var exportedCount: Int
    /// Discovery entries that could not be read, and leftovers in the bind-mount folders.
    public var unreadableEntries: Int
    public var staleEntries: Int
    /// Namespaces discovered but not measured (could not be entered or read), by reason.
    public var failures: [NamespaceID: NamespaceError]
    /// Namespaces whose dump failed (their figures are bounds this time), by namespace.
    public var dumpFailures: [NamespaceID: SnapshotError]
    /// Dumps redone because the kernel interrupted them, over every namespace.
    public var dumpRetries: Int

    /// The namespaces exported in full.
    public var exported: ArraySlice<MeasuredNamespace> { measured.prefix(exportedCount) }
}

/// One namespace, measured: its summary (identity, exact-or-bound per protocol, snapshot) and
/// its kernel settings.
public struct MeasuredNamespace: Sendable {
    public var summary: NamespaceSummary
    public var kernelSettings: [KernelSetting]
    public var netns: String { String(summary.netns) }
}

/// The pipeline over every namespace: discovery → handles (made once per namespace on the
/// entering thread, kept while it lives) → O(1) counts and range through each handle → the cost
/// rule → dumps, through each namespace's own SOCK_DIAG socket, of the protocols that can be
/// under pressure → one analysis per dumped namespace → ranking.
public final class NamespacesSnapshotter: Sendable {
    private let scanner: NamespaceScanner
    private let handles: NamespaceHandles
    private let cgroups: CgroupPathResolver
    /// Each dumped namespace's pipeline, kept while it lives so its analyzer's tables are reused
    /// from one scrape to the next (as the own namespace's are).
    private let snapshotters = Mutex<[NamespaceID: HostSnapshotter]>([:])

    public init(scanner: NamespaceScanner = NamespaceScanner(), handles: NamespaceHandles = NamespaceHandles(),
                cgroups: CgroupPathResolver = CgroupPathResolver()) {
        self.scanner = scanner
        self.handles = handles
        self.cgroups = cgroups
    }

    /// The namespaces with a handle now (for tests: handles of deleted namespaces are closed).
    public var openNamespaces: [NamespaceID] { handles.namespaces }

    /// One pass over every namespace; `maximum` caps the namespaces exported in full.
    public func take(options: AnalysisOptions, maximum: Int?) -> NamespacesSnapshot {
        let inventory = scanner.scan()
        let readings = handles.survey(inventory)
        var failures: [NamespaceID: NamespaceError] = [:]
        var dumpFailures: [NamespaceID: SnapshotError] = [:]
        var retries = 0
        // The measured namespaces and their handles, and their pressures in the order read.
        var byID: [NamespaceID: (summary: NamespaceSummary, handle: NamespaceHandle)] = [:]
        var pressures: [NamespacePressure] = []
        for reading in readings {
            guard let handle = reading.handle else {
                if case let .failure(error) = reading.figures { failures[reading.namespace.id] = error }
                continue
            }
            let figures: NamespaceFigures
            switch reading.figures {
            case let .success(read): figures = read
            case let .failure(error):
                failures[reading.namespace.id] = error
                continue
            }
            var decision = figures.decision
            var dumped: Snapshot?
            let exact = Set([TransportProtocol.tcp, .udp].filter { decision.figures($0) == .exact })
            if !exact.isEmpty {
                let snapshotter = snapshotters.withLock { kept in
                    if let snapshotter = kept[reading.namespace.id], snapshotter.protocols == exact { return snapshotter }
                    let made = Self.snapshotter(handle, cgroups: cgroups, protocols: exact)
                    kept[reading.namespace.id] = made
                    return made
                }
                do {
                    let taken = try snapshotter.take(options: options, range: figures.range)
                    dumped = taken.snapshot
                    retries += taken.statistics.retries
                } catch {
                    // Bounds this time; the failure is exported and logged.
                    dumpFailures[reading.namespace.id] = error
                    decision = CostRule.bounds(counts: figures.counts, limit: figures.range.limit)
                }
            }
            // No socket dumped (bounds only, or the dump failed): the range's empty snapshot.
            let snapshot = dumped ?? {
                var noSockets = PortPressureAnalyzer(range: figures.range, options: options)
                return noSockets.finish()
            }()
            func protocolFigures(_ proto: TransportProtocol, sockets: Int) -> ProtocolFigures {
                switch decision.figures(proto) {
                case .exact: ProtocolFigures(exact: true, pressure: NamespaceSummary.exactPressure(snapshot, proto), sockets: sockets)
                case let .bound(bound): ProtocolFigures(exact: false, pressure: bound, sockets: sockets)
                }
            }
            let summary = NamespaceSummary(
                netns: reading.namespace.id.inode, name: reading.namespace.name,
                podUID: reading.identity.podUID, containerID: reading.identity.containerID, runtime: reading.identity.runtime,
                tcp: protocolFigures(.tcp, sockets: figures.counts.tcp), udp: protocolFigures(.udp, sockets: figures.counts.udp),
                snapshot: snapshot)
            byID[reading.namespace.id] = (summary, handle)
            pressures.append(NamespacePressure(id: reading.namespace.id, pressure: summary.pressure))
        }
        let live = Set(readings.map(\.namespace.id))
        snapshotters.withLock { kept in kept = kept.filter { live.contains($0.key) } }
        // Highest pressure first (exact where dumped, the bound elsewhere), ties by inode.
        let ranking = NamespaceRanking.select(pressures, maximum: maximum)
        let exportedCount = ranking.exported.count
        let measured = (ranking.exported + ranking.omitted).enumerated().map { index, ranked in
            let (summary, handle) = byID[ranked.id]!  // the ranking holds exactly the namespaces of byID
            // Kernel settings of the exported namespaces only: a few small reads each.
            return MeasuredNamespace(summary: summary, kernelSettings: index < exportedCount ? handle.kernelSettings() : [])
        }
        return NamespacesSnapshot(
            discovered: inventory.namespaces.count, measured: measured, exportedCount: exportedCount,
            unreadableEntries: inventory.unreadable, staleEntries: inventory.stale,
            failures: failures, dumpFailures: dumpFailures, dumpRetries: retries)
    }

    /// The snapshot pipeline of one namespace through its handle: its own SOCK_DIAG socket and
    /// its kept `/proc/sys` files (`report --netns`, and each dumped namespace of a pass).
    public static func snapshotter(_ handle: NamespaceHandle, cgroups: CgroupPathResolver = CgroupPathResolver(),
                                   protocols: Set<TransportProtocol> = [.tcp, .udp]) -> HostSnapshotter {
        HostSnapshotter(client: handle.sockDiag, cgroups: cgroups, protocols: protocols) { () throws(SnapshotError) in
            do throws(NamespaceError) { return try handle.range() } catch { throw .namespace(error) }
        }
    }
}
