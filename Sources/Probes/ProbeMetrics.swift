import Metrics

/// Whether the last load of the configuration file worked, and when one last did.
public struct ReloadStatus: Sendable, Hashable {
    public var successful: Bool
    /// Seconds since the Unix epoch of the last successful load.
    public var lastSuccess: Double

    public init(successful: Bool, lastSuccess: Double) {
        self.successful = successful
        self.lastSuccess = lastSuccess
    }
}

/// The probe metric families (a public contract, like every `portpressure_` name).
public enum ProbeMetrics {
    /// Families for `statuses` (configuration order) and the reload status.
    ///
    /// `_success`, `_duration_seconds` and `_last_run_timestamp_seconds` appear after a
    /// probe's first run (before it there is no "last run" to report); `portpressure_probe_runs_total`,
    /// every reason of `portpressure_probe_failures_total` and `portpressure_probe_info` appear
    /// as soon as the probe is configured, so `increase()` sees the first failure.
    public static func families(_ statuses: [ProbeStatus], reload: ReloadStatus?) -> [MetricFamily] {
        var success = MetricFamily(name: "portpressure_probe_success",
                                   help: "Whether the last run of the probe succeeded (1) or failed (0).",
                                   type: .gauge, labelNames: ["probe"])
        var duration = MetricFamily(name: "portpressure_probe_duration_seconds",
                                    help: "How long the last run of the probe took, name resolution to close.",
                                    type: .gauge, labelNames: ["probe"])
        var lastRun = MetricFamily(name: "portpressure_probe_last_run_timestamp_seconds",
                                   help: "When the last run of the probe ended, in seconds since the Unix epoch.",
                                   type: .gauge, labelNames: ["probe"])
        var total = MetricFamily(name: "portpressure_probe_runs_total",
                                 help: "Runs of the probe since it was configured.",
                                 type: .counter, labelNames: ["probe"])
        var failures = MetricFamily(name: "portpressure_probe_failures_total",
                                    help: "Failed runs of the probe by reason: eaddrnotavail, eaddrinuse, eagain (port exhaustion), econnrefused, etimedout, ehostunreach, unexpected_reply, overshadowed, other.",
                                    type: .counter, labelNames: ["probe", "reason"])
        var info = MetricFamily(name: "portpressure_probe_info",
                                help: "A probe's configuration; the value is always 1.",
                                type: .gauge, labelNames: ["probe", "proto", "target", "source", "method"])
        failures.reserveCapacity(statuses.count * ProbeFailureReason.allCases.count)
        for status in statuses {
            let probe = status.definition
            if let last = status.last {
                success.append(last.succeeded ? 1 : 0, probe.name)
                duration.append(ProbeDuration.seconds(last.duration), probe.name)
                lastRun.append(last.finishedAt, probe.name)
            }
            total.append(Double(status.runs), probe.name)
            for reason in ProbeFailureReason.allCases {
                failures.append(Double(status.failures(reason)), probe.name, reason.rawValue)
            }
            info.append(1, probe.name, probe.proto.name, probe.target.description, probe.sourceLabel, probe.method.rawValue)
        }
        var families = [success, duration, lastRun, total, failures, info]
        if let reload {
            families.append(MetricFamily(name: "portpressure_config_last_reload_successful",
                                         help: "Whether the last load of --config.file succeeded (1) or failed and left the previous probes running (0).",
                                         type: .gauge, value: reload.successful ? 1 : 0))
            families.append(MetricFamily(name: "portpressure_config_last_reload_success_timestamp_seconds",
                                         help: "When --config.file was last loaded successfully, in seconds since the Unix epoch.",
                                         type: .gauge, value: reload.lastSuccess))
        }
        return families
    }
}
