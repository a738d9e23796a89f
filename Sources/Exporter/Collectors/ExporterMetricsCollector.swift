#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Metrics
import Synchronization
import SystemCalls

/// The exporter's own metrics: SOCK_DIAG dump retries, `portpressure_build_info` and the
/// standard `process_*` families, read from `/proc` in collection like any collector's.
/// Always run with the scrape (`--web.disable-exporter-metrics` leaves it out), never
/// selected with `collect[]` and not in `portpressure_scrape_collector_success`, as
/// node_exporter's own metrics.
public final class ExporterMetricsCollector: Collector {
    public let name = "exporter"
    public let summary = "the exporter's own metrics: dump retries, build info, process_*"
    /// `portpressure_build_info`'s label values, in `labelNames` order.
    private let buildLabels: [String]
    private let dumpRetries = Atomic<Int>(0)

    public init(version: String, revision: String, branch: String, buildDate: String, swiftVersion: String) {
        buildLabels = [version, revision, branch, buildDate, swiftVersion]
    }

    /// Counts dumps the kernel made the client redo; called once per collection.
    func countDumpRetries(_ retries: Int) {
        if retries > 0 { dumpRetries.add(retries, ordering: .relaxed) }
    }

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        var build = MetricFamily(name: "portpressure_build_info",
                                 help: "A metric with a constant 1 labelled by version, revision, branch, build date and Swift version.",
                                 type: .gauge, labelNames: ["version", "revision", "branch", "build_date", "swift_version"])
        build.append(1, labelValues: buildLabels)
        return [
            MetricFamily(name: "portpressure_sock_diag_dump_retries_total",
                         help: "SOCK_DIAG dumps redone because the kernel marked them interrupted (NLM_F_DUMP_INTR).",
                         type: .counter, value: Double(dumpRetries.load(ordering: .relaxed))),
            build,
        ] + Self.processFamilies()
    }

    /// Reads `/proc/self/stat`, `/proc/stat`, `/proc/self/limits` and `/proc/self/fd`; what
    /// cannot be read is left out.
    static func processFamilies() -> [MetricFamily] {
        func text(_ path: String) -> String? { try? WholeFile.text(path, limit: 1 << 20) }
        var openFiles: Int? = 0
        do {
            // The listing holds the descriptor that reads it: not one of ours to report.
            try Directory.forEachEntry("/proc/self/fd") { _ in openFiles! += 1 }
            openFiles! -= 1
        } catch {
            openFiles = nil
        }
        return ProcessMetrics.families(
            stat: text("/proc/self/stat").flatMap(ProcessMetrics.parseStat),
            bootTime: text("/proc/stat").flatMap(ProcessMetrics.parseBootTime),
            maxOpenFiles: text("/proc/self/limits").flatMap(ProcessMetrics.parseMaxOpenFiles),
            openFiles: openFiles,
            ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
            pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// The Swift language version this was compiled with (what a build with no stamp can know).
    public static var compilerSwiftVersion: String {
        #if swift(>=6.3)
        "6.3"
        #elseif swift(>=6.2)
        "6.2"
        #elseif swift(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }
}
