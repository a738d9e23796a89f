import FoundationEssentials
import SocketModel

/// How one protocol of one network namespace was measured at a scrape (in `NamespacesJSON`
/// under its field names).
public struct ProtocolFigures: Sendable, Hashable, Encodable {
    /// Dumped: `pressure` is the exact highest share of the limit used toward one destination.
    /// Not dumped: `pressure` is a bound (`sockets / limit`), the true figure is at most that.
    public var exact: Bool
    /// 0...1 (above 1 only for a bound of a namespace with more sockets than ports).
    public var pressure: Double
    /// The namespace's sockets of the protocol, from `sockstat` (TCP: in use + TIME_WAIT).
    public var sockets: Int

    public init(exact: Bool, pressure: Double, sockets: Int) {
        self.exact = exact
        self.pressure = pressure
        self.sockets = sockets
    }
}

/// One network namespace as `report --all-namespaces` and `serve --collector.netns` see it:
/// its identity, its range, per protocol whether the figures are exact, and its snapshot (with
/// the sockets of the dumped protocols only; empty for a namespace that got bounds only).
public struct NamespaceSummary: Sendable, Hashable {
    /// The namespace's inode (the `netns` label).
    public var netns: UInt64
    /// `ip netns` name, `host` for the host's namespace, else empty.
    public var name: String
    public var podUID: String?
    public var containerID: String?
    public var runtime: String?
    public var tcp: ProtocolFigures
    public var udp: ProtocolFigures
    public var snapshot: Snapshot

    public init(netns: UInt64, name: String, podUID: String?, containerID: String?, runtime: String?,
                tcp: ProtocolFigures, udp: ProtocolFigures, snapshot: Snapshot) {
        self.netns = netns
        self.name = name
        self.podUID = podUID
        self.containerID = containerID
        self.runtime = runtime
        self.tcp = tcp
        self.udp = udp
        self.snapshot = snapshot
    }

    /// The figures of `proto`.
    public func figures(_ proto: TransportProtocol) -> ProtocolFigures { proto == .tcp ? tcp : udp }

    /// The higher pressure of the two protocols: what ranks namespaces.
    public var pressure: Double { max(tcp.pressure, udp.pressure) }

    /// Duplicate UDP 4-tuples, nil when UDP was not dumped.
    public var udpDuplicateTuples: Int? {
        udp.exact ? snapshot.udpDuplicateTotals.reduce(0) { $0 + $1.tuples } : nil
    }

    /// The highest share of `snapshot.range.limit` used toward one destination by `proto`, over
    /// every local address (1 when the limit is 0: no port can be had).
    public static func exactPressure(_ snapshot: Snapshot, _ proto: TransportProtocol) -> Double {
        let most = snapshot.sources.filter { $0.proto == proto }.map(\.maxDestinationPortsUsed).max() ?? 0
        guard snapshot.range.limit > 0 else { return 1 }
        return Double(most) / Double(snapshot.range.limit)
    }
}

/// `report --all-namespaces`: one row per namespace, in the order given (the snapshotter ranks
/// them: highest pressure first).
public struct NamespacesTable: Sendable {
    public var namespaces: [NamespaceSummary]
    public var color: Bool

    public init(_ namespaces: [NamespaceSummary], color: Bool = false) {
        self.namespaces = namespaces
        self.color = color
    }

    /// The table, ending with a newline. A bound is written `<=0.4%`: the namespace's sockets
    /// could hold at most that share, so it was not dumped.
    public func render() -> String {
        var table = TextTable([
            ("NETNS", .right), ("NAME", .left), ("POD/CONTAINER", .left), ("RANGE", .left), ("LIMIT", .right),
            ("TCP", .right), ("UDP", .right), ("DUP UDP", .right),
        ])
        for namespace in namespaces {
            let range = namespace.snapshot.range
            let workload = [namespace.podUID.map { "pod " + $0 }, namespace.containerID.map { String($0.prefix(12)) }]
                .compactMap { $0 }.joined(separator: " ")
            table.append([
                .init(String(namespace.netns)), .init(namespace.name.isEmpty ? "-" : namespace.name),
                .init(workload.isEmpty ? "-" : workload), .init("\(range.low)-\(range.high)"), .init(String(range.limit)),
                cell(namespace.tcp), cell(namespace.udp),
                .init(namespace.udpDuplicateTuples.map(String.init) ?? "-"),
            ])
        }
        let title = color ? TextStyle.bold.apply("Network namespaces") : "Network namespaces"
        return ([title + "  \(namespaces.count), highest pressure toward one destination per protocol (<= : a bound, not dumped)"]
            + table.render(color: color)).joined(separator: "\n") + "\n"
    }

    private func cell(_ figures: ProtocolFigures) -> TextTable.Cell {
        let tenths = Int((figures.pressure * 1000).rounded(.up))
        let text = (figures.exact ? "" : "<=") + "\(tenths / 10).\(tenths % 10)%"
        let style: TextStyle = figures.pressure >= 0.9 ? .red : figures.pressure >= 0.7 ? .yellow : .green
        return .init(text, figures.exact ? style : .dim)
    }
}

/// `report --all-namespaces --format json`: `{"namespaces": [...]}`, each object the keys of
/// `ReportJSON` plus the identity and how each protocol was measured (docs/report-json.md).
public struct NamespacesJSON: Sendable, Encodable {
    public var namespaces: [Namespace]

    public init(_ namespaces: [NamespaceSummary]) {
        self.namespaces = namespaces.map(Namespace.init)
    }

    public struct Namespace: Sendable, Encodable {
        public var report: ReportJSON
        public var netns: UInt64
        public var name: String
        public var podUID: String?
        public var containerID: String?
        public var runtime: String?
        public var tcp: ProtocolFigures
        public var udp: ProtocolFigures
        public var udpDuplicateTuplesTotal: Int?

        init(_ summary: NamespaceSummary) {
            report = ReportJSON(summary.snapshot)
            netns = summary.netns
            name = summary.name
            podUID = summary.podUID
            containerID = summary.containerID
            runtime = summary.runtime
            tcp = summary.tcp
            udp = summary.udp
            udpDuplicateTuplesTotal = summary.udpDuplicateTuples
        }

        enum CodingKeys: String, CodingKey {
            case netns, name, runtime, tcp, udp
            case podUID = "pod_uid"
            case containerID = "container_id"
            case udpDuplicateTuplesTotal = "udp_duplicate_tuples_total"
        }

        /// The single-namespace keys and the identity in one object (keys sorted by the encoder).
        public func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(netns, forKey: .netns)
            try container.encode(name, forKey: .name)
            try container.encode(podUID, forKey: .podUID)
            try container.encode(containerID, forKey: .containerID)
            try container.encode(runtime, forKey: .runtime)
            try container.encode(tcp, forKey: .tcp)
            try container.encode(udp, forKey: .udp)
            try container.encode(udpDuplicateTuplesTotal, forKey: .udpDuplicateTuplesTotal)
        }
    }

    public func encoded(pretty: Bool = true) throws -> Data {
        try ReportJSON.encoder(pretty: pretty).encode(self)
    }
}
