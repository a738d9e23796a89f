import Metrics
import PortPressure

/// Sockets by state, ephemeral ports per local address and per destination, and owners.
public struct SocketsCollector: Collector {
    public let name = "sockets"
    public let summary = "sockets by state; ephemeral ports used in the namespace, per local address, destination and owner"

    public init() {}

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        let sourceLabels = ["netns", "proto", "family", "local_address"]

        var sockets = MetricFamily(name: "portpressure_sockets", help: "Sockets by protocol, address family and state.",
                                   type: .gauge, labelNames: ["netns", "proto", "family", "state"])

        // Any address, both families: the pools that do not split by local address. UDP
        // connect() on an unbound socket needs a port no UDP socket holds; TCP connect() skips
        // every port held by bind() or listen(), whatever the destination.
        var namespaceUsed = MetricFamily(name: "portpressure_namespace_ephemeral_ports_used",
                                         help: "Distinct ephemeral ports held by sockets of this protocol on any local address of the network namespace.",
                                         type: .gauge, labelNames: ["netns", "proto"])
        var namespaceBound = MetricFamily(name: "portpressure_namespace_bound_ephemeral_ports",
                                          help: "Of portpressure_namespace_ephemeral_ports_used, ports held by listening, bound-only or unconnected sockets: out of every destination's pool for connect().",
                                          type: .gauge, labelNames: ["netns", "proto"])

        var used = MetricFamily(name: "portpressure_ephemeral_ports_used",
                                help: "Distinct local ports inside the ephemeral range (and not reserved) held by sockets on this local address.",
                                type: .gauge, labelNames: sourceLabels)
        var holders = MetricFamily(name: "portpressure_ephemeral_port_sockets",
                                   help: "Sockets holding the ports counted in portpressure_ephemeral_ports_used.",
                                   type: .gauge, labelNames: sourceLabels)
        var bound = MetricFamily(name: "portpressure_bound_ephemeral_ports",
                                 help: "Of portpressure_ephemeral_ports_used, ports held by listening, bound-only or unconnected sockets: out of connect()'s pool.",
                                 type: .gauge, labelNames: sourceLabels)
        var destinationMax = MetricFamily(name: "portpressure_destination_ephemeral_ports_max",
                                          help: "The most ephemeral ports used toward any one destination from this local address (exact, over all destinations).",
                                          type: .gauge, labelNames: sourceLabels)
        var destinationCount = MetricFamily(name: "portpressure_destinations",
                                            help: "Distinct destinations (remote address and port) with sockets from this local address.",
                                            type: .gauge, labelNames: sourceLabels)
        var destinations = MetricFamily(name: "portpressure_destination_ephemeral_ports_used",
                                        help: "Ephemeral ports used toward one destination from one local address; the busiest destinations per local address only (--collector.sockets.top-destinations).",
                                        type: .gauge, labelNames: sourceLabels + ["remote_address", "remote_port"])
        var owners = MetricFamily(name: "portpressure_owner_ephemeral_ports_used",
                                  help: "Ephemeral ports used per owner (uid and cgroup v2 path; empty when the kernel reports none, as for TIME_WAIT); the top owners only (--collector.sockets.top-owners).",
                                  type: .gauge, labelNames: ["netns", "proto", "uid", "cgroup"])
        for scope in scrape.scopes() {
            let snapshot = try scope.snapshot()
            for usage in snapshot.protocols where scope.exact.contains(usage.proto) {
                namespaceUsed.append(Double(usage.portsUsed), scope.netns, usage.proto.name)
                namespaceBound.append(Double(usage.boundPorts), scope.netns, usage.proto.name)
            }
            for count in snapshot.sockets where scope.exact.contains(count.proto) {
                sockets.append(Double(count.count), scope.netns, count.proto.name, count.family.name, count.state)
            }
            for source in snapshot.sources where scope.exact.contains(source.proto) {
                let labels = [scope.netns, source.proto.name, source.family.name, source.localAddress.description]
                used.append(Double(source.portsUsed), labelValues: labels)
                holders.append(Double(source.sockets), labelValues: labels)
                bound.append(Double(source.boundPorts), labelValues: labels)
                destinationMax.append(Double(source.maxDestinationPortsUsed), labelValues: labels)
                destinationCount.append(Double(source.destinationCount), labelValues: labels)
                for destination in source.topDestinations {
                    destinations.append(Double(destination.portsUsed),
                                        labelValues: labels + [destination.remoteAddress.description, String(destination.remotePort)])
                }
            }
            for owner in snapshot.owners where scope.exact.contains(owner.proto) {
                owners.append(Double(owner.portsUsed), scope.netns, owner.proto.name, owner.uid.map(String.init) ?? "", owner.cgroupPath ?? "")
            }
        }
        return [sockets, namespaceUsed, namespaceBound, used, holders, bound, destinationMax, destinationCount, destinations, owners]
    }
}
