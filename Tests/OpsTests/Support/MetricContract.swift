/// The exporter's metric names and labels as issues 3 (serve) and 5 (probes) define them: the
/// contract the dashboards and alerts are built on. Target labels (`job`, `instance`) come from
/// Prometheus and are allowed on every series.
enum MetricContract {
    static let targetLabels: Set<String> = ["job", "instance"]

    static let labels: [String: Set<String>] = [
        "portpressure_ephemeral_port_range_low": [],
        "portpressure_ephemeral_port_range_high": [],
        "portpressure_ephemeral_ports_reserved": [],
        "portpressure_ephemeral_ports_limit": [],
        "portpressure_sockets": ["proto", "family", "state"],
        "portpressure_namespace_ephemeral_ports_used": ["proto"],
        "portpressure_namespace_bound_ephemeral_ports": ["proto"],
        "portpressure_ephemeral_ports_used": ["proto", "family", "local_address"],
        "portpressure_ephemeral_port_sockets": ["proto", "family", "local_address"],
        "portpressure_bound_ephemeral_ports": ["proto", "family", "local_address"],
        "portpressure_destination_ephemeral_ports_used": ["proto", "family", "local_address", "remote_address", "remote_port"],
        "portpressure_destination_ephemeral_ports_max": ["proto", "family", "local_address"],
        "portpressure_destinations": ["proto", "family", "local_address"],
        "portpressure_udp_duplicate_tuples": ["family"],
        "portpressure_udp_overshadowed_sockets": ["family"],
        "portpressure_udp_duplicate_tuple_sockets": ["family", "local_address", "local_port", "remote_address", "remote_port"],
        "portpressure_owner_ephemeral_ports_used": ["proto", "uid", "cgroup"],
        "portpressure_kernel_tcp_tw_reuse": [],
        "portpressure_kernel_ip_autobind_reuse": [],
        "portpressure_kernel_tcp_max_tw_buckets": [],
        "portpressure_kernel_tcp_fin_timeout_seconds": [],
        "portpressure_scrape_collector_success": ["collector"],
        "portpressure_scrape_collector_duration_seconds": ["collector"],
        "portpressure_sock_diag_dump_retries_total": [],
        "portpressure_build_info": ["version", "revision", "branch", "build_date", "swift_version"],
        "process_cpu_seconds_total": [],
        "process_resident_memory_bytes": [],
        "process_open_fds": [],
        "process_max_fds": [],
        "process_start_time_seconds": [],
        "portpressure_probe_success": ["probe"],
        "portpressure_probe_duration_seconds": ["probe"],
        "portpressure_probe_last_run_timestamp_seconds": ["probe"],
        "portpressure_probe_runs_total": ["probe"],
        "portpressure_probe_failures_total": ["probe", "reason"],
        "portpressure_probe_info": ["probe", "proto", "target", "source", "method"],
        "portpressure_config_last_reload_successful": [],
        "portpressure_config_last_reload_success_timestamp_seconds": [],
        // Prometheus's own series for every target.
        "up": [],
        "scrape_duration_seconds": [],
        "scrape_samples_scraped": [],
    ]

    /// What `--web.disable-exporter-metrics` leaves out: nothing a dashboard needs may come from it.
    static let exporterMetrics: Set<String> = [
        "portpressure_build_info", "portpressure_sock_diag_dump_retries_total", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds",
    ]

    /// Label values the contract fixes.
    static let values: [String: Set<String>] = [
        "proto": ["tcp", "udp"],
        "family": ["ipv4", "ipv6"],
        "state": ["established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close",
                  "close_wait", "last_ack", "listen", "closing", "bound_inactive", "unconnected"],
        "reason": ["eaddrnotavail", "eaddrinuse", "eagain", "econnrefused", "etimedout", "ehostunreach",
                   "unexpected_reply", "overshadowed", "other"],
    ]

    /// Where a selector strays from the contract: unknown metric, unknown label, or a value the
    /// contract does not have (regex alternations of plain words are checked word by word).
    static func problems(_ selector: VectorSelector) -> [String] {
        guard let metric = selector.metric else { return ["\(selector): no metric name"] }
        guard let known = labels[metric] else { return ["\(selector): \(metric) is not in the metric contract"] }
        var problems: [String] = []
        for matcher in selector.matchers {
            guard known.contains(matcher.label) || targetLabels.contains(matcher.label) else {
                problems.append("\(selector): \(metric) has no label \(matcher.label)")
                continue
            }
            guard let allowed = values[matcher.label] else { continue }
            let words = matcher.op.hasSuffix("~") ? matcher.value.split(separator: "|").map(String.init) : [matcher.value]
            for word in words where !allowed.contains(word) {
                problems.append("\(selector): \(matcher.label) has no value \(word)")
            }
        }
        return problems
    }
}
