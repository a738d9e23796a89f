import Metrics

/// The effective ephemeral port range of each namespace.
public struct RangeCollector: Collector {
    public let name = "range"
    public let summary = "the ephemeral port range, reserved ports and the resulting limit"

    public init() {}

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        var low = MetricFamily(name: "portpressure_ephemeral_port_range_low", help: "Lowest port of net.ipv4.ip_local_port_range.",
                               type: .gauge, labelNames: ["netns"])
        var high = MetricFamily(name: "portpressure_ephemeral_port_range_high", help: "Highest port of net.ipv4.ip_local_port_range.",
                                type: .gauge, labelNames: ["netns"])
        var reserved = MetricFamily(name: "portpressure_ephemeral_ports_reserved",
                                    help: "Ports of net.ipv4.ip_local_reserved_ports inside the ephemeral range.",
                                    type: .gauge, labelNames: ["netns"])
        var limit = MetricFamily(name: "portpressure_ephemeral_ports_limit",
                                 help: "Ephemeral ports the kernel can hand out per local address and destination: high - low + 1 - reserved.",
                                 type: .gauge, labelNames: ["netns"])
        for scope in scrape.scopes() {
            let range = try scope.range()
            low.append(Double(range.low), scope.netns)
            high.append(Double(range.high), scope.netns)
            reserved.append(Double(range.reservedInRange), scope.netns)
            limit.append(Double(range.limit), scope.netns)
        }
        return [low, high, reserved, limit]
    }
}
