import Metrics
import Probes

/// The active probes of `--config.file`: per-probe success, duration, runs, failures by
/// reason and configuration, and the reload status. The probes run on their own schedule;
/// a scrape reads their last results and counters (it never waits for a probe).
public struct ProbesCollector: Collector {
    public static let collectorName = "probes"
    public let name = ProbesCollector.collectorName
    public let summary = "active probes from --config.file: last success and duration, runs, failures by reason, reload status"
    private let service: ProbeService?

    /// - Parameter service: the running probes; nil (for help texts) collects nothing.
    public init(service: ProbeService?) {
        self.service = service
    }

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        service?.metricFamilies() ?? []
    }
}
