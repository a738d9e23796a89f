import Metrics

/// The effective ephemeral port range of the namespace.
public struct RangeCollector: Collector {
    public let name = "range"
    public let summary = "the ephemeral port range, reserved ports and the resulting limit"

    public init() {}

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        let range = try scrape.ephemeralRange()
        return [
            MetricFamily(name: "portpressure_ephemeral_port_range_low", help: "Lowest port of net.ipv4.ip_local_port_range.",
                         type: .gauge, value: Double(range.low)),
            MetricFamily(name: "portpressure_ephemeral_port_range_high", help: "Highest port of net.ipv4.ip_local_port_range.",
                         type: .gauge, value: Double(range.high)),
            MetricFamily(name: "portpressure_ephemeral_ports_reserved",
                         help: "Ports of net.ipv4.ip_local_reserved_ports inside the ephemeral range.",
                         type: .gauge, value: Double(range.reservedInRange)),
            MetricFamily(name: "portpressure_ephemeral_ports_limit",
                         help: "Ephemeral ports the kernel can hand out per local address and destination: high - low + 1 - reserved.",
                         type: .gauge, value: Double(range.limit)),
        ]
    }
}
