import Metrics
import PortPressure
import Snapshotting
import SocketModel

/// Every network namespace of the host (`--collector.netns`): how many there are, who each
/// exported one belongs to, and per protocol whether its figures are exact (dumped) or a bound.
/// The other collectors export the exported namespaces' series under their `netns` label.
public struct NamespacesCollector: Collector {
    public static let collectorName = "netns"
    public let name = NamespacesCollector.collectorName
    public let summary = "with --collector.netns: every network namespace: count, identity (pod, container), exact figures or a bound"

    public init() {}

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        guard let all = scrape.allNamespaces() else { return [] }
        var info = MetricFamily(name: "portpressure_netns_info",
                                help: "A network namespace exported in full: name (ip netns name, host for the host's), pod UID and container from its cgroup.",
                                type: .gauge, labelNames: ["netns", "name", "pod_uid", "container_id", "runtime"])
        var exact = MetricFamily(name: "portpressure_netns_figures_exact",
                                 help: "1 when the namespace's sockets of this protocol were dumped (exact figures), 0 when only a bound is known (the cost rule).",
                                 type: .gauge, labelNames: ["netns", "proto"])
        var bound = MetricFamily(name: "portpressure_netns_pressure_bound_ratio",
                                 help: "For a protocol not dumped: its sockets / the limit, an upper bound of the ports used toward any one destination / the limit.",
                                 type: .gauge, labelNames: ["netns", "proto"])
        var pressure = MetricFamily(name: "portpressure_netns_pressure_ratio",
                                    help: "The highest ephemeral ports used toward one destination / the limit: exact where dumped, else the bound.",
                                    type: .gauge, labelNames: ["netns", "proto"])
        var sockets = MetricFamily(name: "portpressure_netns_sockets",
                                   help: "The namespace's sockets by protocol from sockstat (TCP: in use + TIME_WAIT), what the cost rule compares with the limit.",
                                   type: .gauge, labelNames: ["netns", "proto"])
        for namespace in all.exported {
            let summary = namespace.summary
            info.append(1, namespace.netns, summary.name, summary.podUID ?? "", summary.containerID ?? "", summary.runtime ?? "")
            for proto in [TransportProtocol.tcp, .udp] {
                let figures = summary.figures(proto)
                exact.append(figures.exact ? 1 : 0, namespace.netns, proto.name)
                if !figures.exact { bound.append(figures.pressure, namespace.netns, proto.name) }
                pressure.append(figures.pressure, namespace.netns, proto.name)
                sockets.append(Double(figures.sockets), namespace.netns, proto.name)
            }
        }
        return [
            MetricFamily(name: "portpressure_netns_namespaces", help: "Network namespaces discovered on the host.",
                         type: .gauge, value: Double(all.discovered)),
            MetricFamily(name: "portpressure_netns_exported_namespaces",
                         help: "Network namespaces exported in full (at most --collector.netns.max, highest pressure first).",
                         type: .gauge, value: Double(all.exportedCount)),
            MetricFamily(name: "portpressure_netns_unmeasured_namespaces",
                         help: "Network namespaces discovered but not measured: they could not be entered or read (the log says why).",
                         type: .gauge, value: Double(all.failures.count)),
            MetricFamily(name: "portpressure_netns_dump_failures",
                         help: "Network namespaces whose dump failed in this scrape (they carry a bound instead).",
                         type: .gauge, value: Double(all.dumpFailures.count)),
            MetricFamily(name: "portpressure_netns_unreadable_entries",
                         help: "/proc/PID/ns/net and bind-mount entries that exist but could not be read (skipped).",
                         type: .gauge, value: Double(all.unreadableEntries)),
            MetricFamily(name: "portpressure_netns_stale_entries",
                         help: "Files in /run/netns and /run/docker/netns that are not namespaces (leftovers, skipped).",
                         type: .gauge, value: Double(all.staleEntries)),
            info, exact, bound, pressure, sockets,
        ]
    }
}
