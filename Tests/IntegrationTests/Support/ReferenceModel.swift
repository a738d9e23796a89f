/// The effective ephemeral range, computed from the two sysctl texts by this file alone
/// (not by SocketModel's parser, which is what is being checked).
struct RangeFacts: Equatable, Sendable {
    var low: Int
    var high: Int
    /// Reserved ports inside `[low, high]`.
    var reserved: Set<Int>

    var limit: Int { high - low + 1 - reserved.count }

    func isEphemeral(_ port: Int) -> Bool { port >= low && port <= high && !reserved.contains(port) }

    /// `portRange` as in `ip_local_port_range` ("40000\t40999"), `reservedPorts` as in
    /// `ip_local_reserved_ports` ("40010-40019,40500").
    init?(portRange: String, reservedPorts: String) {
        let bounds = portRange.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard bounds.count == 2 else { return nil }
        low = bounds[0]
        high = bounds[1]
        reserved = []
        for item in reservedPorts.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " }) {
            let ends = item.split(separator: "-").compactMap { Int($0) }
            guard let first = ends.first, let last = ends.last, ends.count <= 2, first <= last else { return nil }
            for port in first...last where port >= low && port <= high { reserved.insert(port) }
        }
    }
}

/// What `portpressure report --format json` (and `/metrics`) should say about a set of
/// sockets, computed directly from the definitions in docs/report-json.md with plain
/// dictionaries and sets: the reference the real output is compared with.
struct ReferenceModel {
    struct StateKey: Hashable, CustomStringConvertible {
        var proto: String, family: String, state: String
        var description: String { "\(proto)/\(family)/\(state)" }
    }
    struct SourceKey: Hashable, CustomStringConvertible {
        var proto: String, family: String, address: String
        var description: String { "\(proto)/\(family)/\(address)" }
    }
    struct SourceFacts: Hashable {
        var portsUsed = 0, sockets = 0, boundPorts = 0, destinations = 0, destinationPortsMax = 0
    }
    struct DestinationKey: Hashable, CustomStringConvertible {
        var proto: String, family: String, local: String, remote: String, remotePort: Int
        var description: String { "\(proto)/\(family)/\(local)->\(remote):\(remotePort)" }
    }
    struct Count: Hashable { var portsUsed = 0, sockets = 0 }
    struct ProtocolFacts: Hashable { var portsUsed = 0, boundPorts = 0 }
    struct TupleKey: Hashable, CustomStringConvertible {
        var family: String, local: String, localPort: Int, remote: String, remotePort: Int
        var description: String { "\(family) \(local):\(localPort)->\(remote):\(remotePort)" }
    }
    struct OwnerKey: Hashable, CustomStringConvertible {
        var proto: String
        /// nil: no owner (uid 0, no inode, no cgroup: TIME_WAIT and request sockets).
        var uid: Int?
        var cgroup: String
        var description: String { "\(proto)/uid=\(uid.map(String.init) ?? "-")/\(cgroup)" }
    }
    struct DuplicateSocket: Hashable { var uid: Int, inode: Int, cookie: UInt64 }

    let range: RangeFacts
    private(set) var sockets: [StateKey: Int] = [:]
    private(set) var protocols: [String: ProtocolFacts] = [:]
    private(set) var sources: [SourceKey: SourceFacts] = [:]
    private(set) var destinations: [DestinationKey: Count] = [:]
    private(set) var duplicates: [TupleKey: Set<DuplicateSocket>] = [:]
    private(set) var owners: [OwnerKey: Count] = [:]

    init(range: RangeFacts, entries: [SocketTableEntry]) {
        self.range = range
        for proto in ["tcp", "udp"] {
            let states = proto == "tcp"
                ? ["established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close",
                   "close_wait", "last_ack", "listen", "closing", "bound_inactive"]
                : ["established", "unconnected"]
            for family in ["ipv4", "ipv6"] {
                for state in states { sockets[StateKey(proto: proto, family: family, state: state)] = 0 }
            }
        }
        var protocolPorts: [String: Set<Int>] = [:], protocolBoundPorts: [String: Set<Int>] = [:]
        var sourcePorts: [SourceKey: Set<Int>] = [:], sourceBoundPorts: [SourceKey: Set<Int>] = [:]
        var sourceSockets: [SourceKey: Int] = [:]
        var destinationPorts: [DestinationKey: Set<Int>] = [:], destinationSockets: [DestinationKey: Int] = [:]
        var ownerPorts: [OwnerKey: Set<Int>] = [:], ownerSockets: [OwnerKey: Int] = [:]
        var udpTuples: [TupleKey: [DuplicateSocket]] = [:]

        for e in entries {
            let proto = e.proto.rawValue, family = e.family.rawValue
            sockets[StateKey(proto: proto, family: family, state: e.state), default: 0] += 1
            let source = SourceKey(proto: proto, family: family, address: e.localAddress)
            // Every local address is a source, zeros included.
            if sourcePorts[source] == nil { sourcePorts[source] = [] }
            if e.proto == .udp && e.state == "established", let remotePort = e.remotePort {
                let tuple = TupleKey(family: family, local: e.localAddress, localPort: e.localPort, remote: e.remoteAddress, remotePort: remotePort)
                udpTuples[tuple, default: []].append(DuplicateSocket(uid: e.uid, inode: e.inode, cookie: e.cookie ?? 0))
            }
            guard range.isEphemeral(e.localPort) else { continue }
            protocolPorts[proto, default: []].insert(e.localPort)
            sourcePorts[source, default: []].insert(e.localPort)
            sourceSockets[source, default: 0] += 1
            if !e.hasPeer {
                protocolBoundPorts[proto, default: []].insert(e.localPort)
                sourceBoundPorts[source, default: []].insert(e.localPort)
            } else if let remotePort = e.remotePort {
                let d = DestinationKey(proto: proto, family: family, local: e.localAddress, remote: e.remoteAddress, remotePort: remotePort)
                destinationPorts[d, default: []].insert(e.localPort)
                destinationSockets[d, default: 0] += 1
            }
            let ownerless = e.inode == 0 && e.uid == 0 && e.cgroup == nil
            let owner = OwnerKey(proto: proto, uid: ownerless ? nil : e.uid, cgroup: e.cgroup ?? "")
            ownerPorts[owner, default: []].insert(e.localPort)
            ownerSockets[owner, default: 0] += 1
        }
        for proto in ["tcp", "udp"] {
            protocols[proto] = ProtocolFacts(portsUsed: protocolPorts[proto]?.count ?? 0,
                                             boundPorts: protocolBoundPorts[proto]?.count ?? 0)
        }
        for (d, ports) in destinationPorts {
            destinations[d] = Count(portsUsed: ports.count, sockets: destinationSockets[d] ?? 0)
        }
        for (source, ports) in sourcePorts {
            let mine = destinations.filter { $0.key.proto == source.proto && $0.key.local == source.address && $0.key.family == source.family }
            sources[source] = SourceFacts(
                portsUsed: ports.count, sockets: sourceSockets[source] ?? 0, boundPorts: sourceBoundPorts[source]?.count ?? 0,
                destinations: mine.count, destinationPortsMax: mine.values.map(\.portsUsed).max() ?? 0)
        }
        for (tuple, members) in udpTuples where members.count > 1 { duplicates[tuple] = Set(members) }
        for (owner, ports) in ownerPorts { owners[owner] = Count(portsUsed: ports.count, sockets: ownerSockets[owner] ?? 0) }
    }

    /// Exact duplicate totals per family, given which socket (cookie) receives each tuple's
    /// datagrams (nil: none of the tuple's sockets does).
    func duplicateTotals(receivers: [TupleKey: UInt64?]) -> [String: (tuples: Int, sockets: Int, overshadowed: Int)] {
        var totals: [String: (tuples: Int, sockets: Int, overshadowed: Int)] = ["ipv4": (0, 0, 0), "ipv6": (0, 0, 0)]
        for (tuple, members) in duplicates {
            let receiverInside = receivers[tuple].flatMap { $0 }.map { cookie in members.contains { $0.cookie == cookie } } ?? false
            totals[tuple.family]!.tuples += 1
            totals[tuple.family]!.sockets += members.count
            totals[tuple.family]!.overshadowed += receiverInside ? members.count - 1 : members.count
        }
        return totals
    }
}
