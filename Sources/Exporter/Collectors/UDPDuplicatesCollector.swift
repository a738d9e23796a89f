import Metrics
import PortPressure
import SocketModel

/// Duplicate UDP 4-tuples: connected UDP sockets sharing one 4-tuple, of which only one receives.
/// Per namespace with exact UDP figures (a namespace given a bound was not dumped).
public struct UDPDuplicatesCollector: Collector {
    public let name = "udp"
    public let summary = "duplicate UDP 4-tuples and the sockets they overshadow"

    public init() {}

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        var tuples = MetricFamily(name: "portpressure_udp_duplicate_tuples",
                                  help: "4-tuples held by more than one connected UDP socket.",
                                  type: .gauge, labelNames: ["netns", "family"])
        var overshadowed = MetricFamily(name: "portpressure_udp_overshadowed_sockets",
                                        help: "Connected UDP sockets that receive nothing because another socket holds the same 4-tuple.",
                                        type: .gauge, labelNames: ["netns", "family"])
        var perTuple = MetricFamily(name: "portpressure_udp_duplicate_tuple_sockets",
                                    help: "Sockets sharing one duplicate UDP 4-tuple; the tuples with the most sockets only (--collector.udp.top-duplicates).",
                                    type: .gauge, labelNames: ["netns", "family", "local_address", "local_port", "remote_address", "remote_port"])
        for scope in scrape.scopes() where scope.exact.contains(.udp) {
            let snapshot = try scope.snapshot()
            for totals in snapshot.udpDuplicateTotals {
                tuples.append(Double(totals.tuples), scope.netns, totals.family.name)
                overshadowed.append(Double(totals.overshadowedSockets), scope.netns, totals.family.name)
            }
            for duplicate in snapshot.udpDuplicates {
                perTuple.append(Double(duplicate.sockets.count), scope.netns, duplicate.family.name,
                                duplicate.local.address.description, String(duplicate.local.port),
                                duplicate.remote.address.description, String(duplicate.remote.port))
            }
        }
        return [tuples, overshadowed, perTuple]
    }
}
