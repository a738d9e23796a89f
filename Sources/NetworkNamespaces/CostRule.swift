import SocketModel

/// How a namespace's figures are obtained for one protocol.
public enum Figures: Sendable, Equatable {
    /// Dump its sockets: exact per-destination pressure.
    case exact
    /// No dump: the pressure toward any destination is at most this fraction of the limit.
    case bound(Double)
}

/// What one namespace gets at a scrape, per protocol.
public struct CollectionDecision: Sendable, Equatable {
    public var tcp: Figures
    public var udp: Figures

    public init(tcp: Figures, udp: Figures) {
        self.tcp = tcp
        self.udp = udp
    }

    /// The figures of `proto`.
    public func figures(_ proto: TransportProtocol) -> Figures { proto == .tcp ? tcp : udp }

    /// A dump of at least one protocol is needed.
    public var needsDump: Bool { tcp == .exact || udp == .exact }
}

/// The cost rule: a dump walks the host's whole socket table whatever namespace it runs in,
/// so it is spent only where it can matter.
///
/// A namespace's ephemeral ports in use toward one destination (what pressure measures)
/// cannot exceed its sockets of that protocol, which `sockstat` counts in O(1). So its
/// pressure is at most `sockets / limit`. A protocol whose sockets could hold more than
/// `exactPercent` of the limit is dumped for exact figures; otherwise that bound is exported.
/// The cost of a scrape then grows with the namespaces that can be under pressure, not with
/// namespaces × host sockets.
public enum CostRule {
    /// Sockets above this percentage of the limit earn a dump.
    public static let exactPercent = 10

    /// The decision for a namespace with `counts` and an effective limit of `limit` ports
    /// (`EphemeralRange.limit`). A limit of 0 (every port reserved) always gets a dump.
    public static func decide(counts: SocketCounts, limit: Int) -> CollectionDecision {
        CollectionDecision(tcp: figures(sockets: counts.tcp, limit: limit), udp: figures(sockets: counts.udp, limit: limit))
    }

    /// Bounds for both protocols whatever the counts: what a namespace whose dump failed
    /// exports. A limit of 0 counts as 1.
    public static func bounds(counts: SocketCounts, limit: Int) -> CollectionDecision {
        CollectionDecision(tcp: bound(sockets: counts.tcp, limit: limit), udp: bound(sockets: counts.udp, limit: limit))
    }

    static func figures(sockets: Int, limit: Int) -> Figures {
        guard limit > 0 else { return .exact }
        // In integers, so the threshold is exact: sockets > limit × 10% ⟺ sockets > ⌊limit × 10 / 100⌋.
        if sockets > limit * exactPercent / 100 { return .exact }
        return bound(sockets: sockets, limit: limit)
    }

    /// At most `sockets` of the limit's ports toward one destination.
    static func bound(sockets: Int, limit: Int) -> Figures {
        .bound(Double(sockets) / Double(max(limit, 1)))
    }
}

/// A namespace's pressure, for ranking under `--collector.netns.max`.
public struct NamespacePressure: Sendable, Equatable {
    public var id: NamespaceID
    /// The highest pressure (0...1) of any protocol and destination: exact where dumped, the
    /// bound elsewhere.
    public var pressure: Double

    public init(id: NamespaceID, pressure: Double) {
        self.id = id
        self.pressure = pressure
    }
}

public enum NamespaceRanking {
    /// The namespaces exported in full (at most `maximum`, highest pressure first, the lower
    /// inode first on a tie so the choice is stable between scrapes) and the rest, whose
    /// series are left out (their number is still exported). No maximum keeps all.
    public static func select(_ namespaces: [NamespacePressure], maximum: Int?) -> (exported: [NamespacePressure], omitted: [NamespacePressure]) {
        let ranked = namespaces.sorted { a, b in
            a.pressure != b.pressure ? a.pressure > b.pressure : a.id < b.id
        }
        guard let maximum, maximum < ranked.count else { return (ranked, []) }
        let kept = max(0, maximum)
        return (Array(ranked.prefix(kept)), Array(ranked.dropFirst(kept)))
    }
}
