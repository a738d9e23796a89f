import Logging
import Metrics
import PortPressure
import Snapshotting
import SockDiag
import SocketModel
import Synchronization

/// One collector's part of a scrape.
public struct CollectorResult: Sendable {
    public var name: String
    public var families: [MetricFamily]
    /// nil on success.
    public var error: String?
    public var durationSeconds: Double
}

/// Everything one collection produced.
public struct ScrapeResult: Sendable {
    public var collectors: [CollectorResult]
    /// The socket snapshot, when a collector of this scrape took one.
    public var snapshot: TakenSnapshot?
    /// The exporter's own metrics (`ExporterMetricsCollector`); empty when disabled.
    public var exporterFamilies: [MetricFamily] = []
    /// Every namespace, when `--collector.netns` took them in this scrape.
    public var namespaces: NamespacesSnapshot?
}

/// The exporter: enabled collectors, scrape coordination and the exposition of a scrape.
public final class PortPressureExporter: Sendable {
    public struct Configuration: Sendable {
        public var collectors: [any Collector]
        public var analysis: AnalysisOptions
        /// Include `process_*`, `portpressure_build_info` and the dump-retry counter.
        public var exporterMetrics: Bool
        /// `portpressure_build_info`'s labels: what `--version` prints.
        public var version: String
        public var revision: String
        public var branch: String
        public var buildDate: String
        public var swiftVersion: String
        /// The exporter's own namespace, or every namespace of the host.
        public var namespaces: NamespaceMode

        public init(collectors: [any Collector], analysis: AnalysisOptions = AnalysisOptions(),
                    exporterMetrics: Bool = true, version: String, revision: String = "unknown",
                    branch: String = "unknown", buildDate: String = "unknown",
                    swiftVersion: String = ExporterMetricsCollector.compilerSwiftVersion,
                    namespaces: NamespaceMode = .own(netns: "")) {
            self.collectors = collectors
            self.namespaces = namespaces
            self.analysis = analysis
            self.exporterMetrics = exporterMetrics
            self.version = version
            self.revision = revision
            self.branch = branch
            self.buildDate = buildDate
            self.swiftVersion = swiftVersion
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    /// The last error of each collector, to log once per change of state.
    private let lastErrors = Mutex<[String: String]>([:])
    /// Namespaces that could not be measured (or dumped) at the previous scrape, and why.
    private let namespaceProblems = Mutex<[UInt64: String]>([:])
    /// Duplicate UDP tuples seen in the previous snapshot, to log new ones.
    private let knownDuplicates = Mutex<Set<FourTuple>?>(nil)
    private let coordinator: ScrapeCoordinator<ScrapeResult>
    /// Set by the first collection in which every enabled collector succeeded (`/-/ready`).
    private let collectedOnce = Atomic<Bool>(false)

    public init(configuration: Configuration, source: any SnapshotSource, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let collectors = configuration.collectors
        let analysis = configuration.analysis
        let mode = configuration.namespaces
        let exporterMetrics = configuration.exporterMetrics
            ? ExporterMetricsCollector(version: configuration.version, revision: configuration.revision,
                                       branch: configuration.branch, buildDate: configuration.buildDate,
                                       swiftVersion: configuration.swiftVersion) : nil
        coordinator = ScrapeCoordinator { selection in
            Self.collect(collectors.filter { selection.contains($0.name) }, exporterMetrics: exporterMetrics,
                         source: source, analysis: analysis, mode: mode)
        }
    }

    /// The names of the enabled collectors.
    public var collectorNames: [String] { configuration.collectors.map(\.name) }

    /// Collects the named collectors, sharing a collection already running for them.
    public func scrape(_ selection: Set<String>) -> ScrapeResult {
        let result = coordinator.result(for: selection)
        observe(result)
        return result
    }

    /// Whether a collection of every enabled collector has succeeded since the start. Until
    /// one has, each call runs one (shared with any scrape in flight), so readiness needs no
    /// scraper; afterwards it costs nothing.
    public func becomeReady() -> Bool {
        if collectedOnce.load(ordering: .acquiring) { return true }
        _ = scrape(Set(collectorNames))
        return collectedOnce.load(ordering: .acquiring)
    }

    /// Renders the part of `result` that `selection` asked for, with the scrape's own metrics.
    public func exposition(_ result: ScrapeResult, selection: Set<String>, format: ExpositionFormat) -> [UInt8] {
        var writer = ExpositionWriter(format: format, capacity: 64 * 1024)
        var success = MetricFamily(name: "portpressure_scrape_collector_success",
                                   help: "Whether a collector succeeded in this scrape (1) or failed (0).",
                                   type: .gauge, labelNames: ["collector"])
        var duration = MetricFamily(name: "portpressure_scrape_collector_duration_seconds",
                                    help: "How long a collector took in this scrape.",
                                    type: .gauge, labelNames: ["collector"])
        for collector in result.collectors where selection.contains(collector.name) {
            writer.write(contentsOf: collector.families)
            success.append(collector.error == nil ? 1 : 0, collector.name)
            duration.append(collector.durationSeconds, collector.name)
        }
        writer.write(success)
        writer.write(duration)
        writer.write(contentsOf: result.exporterFamilies)
        return writer.finish()
    }

    /// One collection: every I/O of a scrape happens here, before anything is rendered.
    private static func collect(_ collectors: [any Collector], exporterMetrics: ExporterMetricsCollector?,
                                source: any SnapshotSource, analysis: AnalysisOptions, mode: NamespaceMode) -> ScrapeResult {
        let scrape = Scrape(source: source, options: analysis, mode: mode)
        var results: [CollectorResult] = []
        for collector in collectors {
            let start = ContinuousClock.now
            var families: [MetricFamily] = []
            var error: String?
            do { families = try collector.collect(scrape) } catch let failure { error = "\(failure)" }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            results.append(CollectorResult(name: collector.name, families: families, error: error, durationSeconds: seconds))
        }
        var result = ScrapeResult(collectors: results, snapshot: scrape.takenSnapshot)
        result.namespaces = scrape.takenNamespaces
        if let exporterMetrics {
            exporterMetrics.countDumpRetries((scrape.takenSnapshot?.statistics.retries ?? 0) + (scrape.takenNamespaces?.dumpRetries ?? 0))
            result.exporterFamilies = (try? exporterMetrics.collect(scrape)) ?? []
        }
        return result
    }

    /// Logs what changed: collector failures and recoveries (once per change, not per scrape),
    /// and duplicate UDP 4-tuples that were not there in the previous snapshot.
    private func observe(_ result: ScrapeResult) {
        if Set(result.collectors.map(\.name)) == Set(collectorNames), result.collectors.allSatisfy({ $0.error == nil }) {
            collectedOnce.store(true, ordering: .releasing)
        }
        let changes: [(String, String?, String?)] = lastErrors.withLock { last in
            var changes: [(String, String?, String?)] = []
            for collector in result.collectors where last[collector.name] != collector.error {
                changes.append((collector.name, last[collector.name], collector.error))
                last[collector.name] = collector.error
            }
            return changes
        }
        for (name, before, now) in changes {
            if let now {
                logger.error("collector failed", metadata: ["collector": "\(name)", "err": "\(now)"])
            } else if before != nil {
                logger.info("collector recovered", metadata: ["collector": "\(name)"])
            }
        }
        if let namespaces = result.namespaces { observe(namespaces) }
        guard let snapshot = result.snapshot?.snapshot else { return }
        let current = Set(snapshot.udpDuplicates.map(\.tuple))
        let previous = knownDuplicates.withLock { known in
            defer { known = current }
            return known ?? []
        }
        for duplicate in snapshot.udpDuplicates where !previous.contains(duplicate.tuple) {
            let sockets = duplicate.sockets.map { socket in
                "uid=\(socket.uid) inode=\(socket.inode) cookie=\(socket.cookie) receives=\(socket.receives.map { $0 ? "yes" : "no" } ?? "unknown")"
            }
            logger.warning("duplicate UDP 4-tuple: only one socket receives", metadata: [
                "tuple": "\(duplicate.tuple)",
                "family": "\(duplicate.family.name)",
                "sockets": "\(sockets.joined(separator: "; "))",
            ])
        }
    }

    /// Logs a namespace that cannot be measured or dumped once when it starts failing, and
    /// once when it recovers or is gone.
    private func observe(_ namespaces: NamespacesSnapshot) {
        var now: [UInt64: String] = [:]
        for (id, error) in namespaces.failures { now[id.inode] = "not measured: \(error)" }
        for (id, error) in namespaces.dumpFailures { now[id.inode] = "dump failed, bounds exported: \(error)" }
        let before = namespaceProblems.withLock { known in
            defer { known = now }
            return known
        }
        for (netns, problem) in now.sorted(by: { $0.key < $1.key }) where before[netns] != problem {
            logger.warning("network namespace skipped", metadata: ["netns": "\(netns)", "err": "\(problem)"])
        }
        for netns in before.keys.sorted() where now[netns] == nil {
            logger.info("network namespace no longer failing (measured again, or gone)", metadata: ["netns": "\(netns)"])
        }
    }
}
