/// The exporter's metric names and labels as issues 3 (serve) and 5 (probes) define them: the
/// contract the dashboards and alerts are built on. Issue 10 adds `netns` (the namespace's inode) to
/// every namespace-scoped family and the `portpressure_netns_*` families of `--collector.netns`. Target labels (`job`, `instance`) come from
/// Prometheus and are allowed on every series.
enum MetricContract {
    static let targetLabels: Set<String> = ["job", "instance"]

    static let labels: [String: Set<String>] = [
        "portpressure_ephemeral_port_range_low": ["netns"],
        "portpressure_ephemeral_port_range_high": ["netns"],
        "portpressure_ephemeral_ports_reserved": ["netns"],
        "portpressure_ephemeral_ports_limit": ["netns"],
        "portpressure_sockets": ["netns", "proto", "family", "state"],
        "portpressure_namespace_ephemeral_ports_used": ["netns", "proto"],
        "portpressure_namespace_bound_ephemeral_ports": ["netns", "proto"],
        "portpressure_ephemeral_ports_used": ["netns", "proto", "family", "local_address"],
        "portpressure_ephemeral_port_sockets": ["netns", "proto", "family", "local_address"],
        "portpressure_bound_ephemeral_ports": ["netns", "proto", "family", "local_address"],
        "portpressure_destination_ephemeral_ports_used": ["netns", "proto", "family", "local_address", "remote_address", "remote_port"],
        "portpressure_destination_ephemeral_ports_max": ["netns", "proto", "family", "local_address"],
        "portpressure_destinations": ["netns", "proto", "family", "local_address"],
        "portpressure_udp_duplicate_tuples": ["netns", "family"],
        "portpressure_udp_overshadowed_sockets": ["netns", "family"],
        "portpressure_udp_duplicate_tuple_sockets": ["netns", "family", "local_address", "local_port", "remote_address", "remote_port"],
        "portpressure_owner_ephemeral_ports_used": ["netns", "proto", "uid", "cgroup"],
        "portpressure_kernel_tcp_tw_reuse": ["netns"],
        "portpressure_kernel_ip_autobind_reuse": ["netns"],
        "portpressure_kernel_tcp_max_tw_buckets": ["netns"],
        "portpressure_kernel_tcp_fin_timeout_seconds": ["netns"],
        // --collector.netns: every network namespace of the host.
        "portpressure_netns_info": ["netns", "name", "pod_uid", "container_id", "runtime"],
        "portpressure_netns_figures_exact": ["netns", "proto"],
        "portpressure_netns_pressure_bound_ratio": ["netns", "proto"],
        "portpressure_netns_pressure_ratio": ["netns", "proto"],
        "portpressure_netns_sockets": ["netns", "proto"],
        "portpressure_netns_namespaces": [],
        "portpressure_netns_exported_namespaces": [],
        "portpressure_netns_unmeasured_namespaces": [],
        "portpressure_netns_dump_failures": [],
        "portpressure_netns_unreadable_entries": [],
        "portpressure_netns_stale_entries": [],
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
