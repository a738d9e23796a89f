import Probes

/// The collectors `serve` knows, in the order their families appear in a scrape.
public enum CollectorRegistry {
    /// Every collector, for help texts (the probes collector without a service collects nothing).
    public static let all: [any Collector] = make(probes: nil, namespaces: true)

    /// The collectors to run: every one except those named in `disabled`; the probes collector
    /// only with a `probes` service (no `--config.file`, no probes); the namespaces collector
    /// only with `--collector.netns`.
    public static func enabled(disabled: Set<String>, probes: ProbeService?, namespaces: Bool = false) -> [any Collector] {
        make(probes: probes, namespaces: namespaces).filter { collector in
            !disabled.contains(collector.name) && (collector.name != ProbesCollector.collectorName || probes != nil)
        }
    }

    private static func make(probes: ProbeService?, namespaces: Bool) -> [any Collector] {
        (namespaces ? [NamespacesCollector()] : [])
            + [RangeCollector(), SocketsCollector(), UDPDuplicatesCollector(), KernelSettingsCollector(), ProbesCollector(service: probes)]
    }
}
