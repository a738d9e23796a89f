import Foundation

/// `portpressure report --format json` read into the reference model's shapes, so the two
/// compare as plain dictionaries. Throws on a missing key or a wrongly typed value.
struct ReportDocument {
    struct Malformed: Error, CustomStringConvertible { let description: String }

    var ephemeral: (low: Int, high: Int, reserved: Int, limit: Int)
    var sockets: [ReferenceModel.StateKey: Int] = [:]
    var socketRows = 0
    var protocols: [String: ReferenceModel.ProtocolFacts] = [:]
    var sources: [ReferenceModel.SourceKey: ReferenceModel.SourceFacts] = [:]
    var destinations: [ReferenceModel.DestinationKey: ReferenceModel.Count] = [:]
    var destinationsTotal: Int
    var duplicates: [ReferenceModel.TupleKey: Set<ReferenceModel.DuplicateSocket>] = [:]
    /// The cookie of the socket marked `"receives": true` per tuple; nil when none is;
    /// absent from the dictionary when a `receives` was null.
    var receivers: [ReferenceModel.TupleKey: UInt64?] = [:]
    var duplicateTotals: [String: (tuples: Int, sockets: Int, overshadowed: Int)] = [:]
    var owners: [ReferenceModel.OwnerKey: ReferenceModel.Count] = [:]
    var ownersTotal: Int

    init(json: String) throws {
        guard let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw Malformed(description: "not a JSON object")
        }
        let e = try Self.object(root, "ephemeral")
        ephemeral = (try Self.int(e, "low"), try Self.int(e, "high"), try Self.int(e, "reserved"), try Self.int(e, "limit"))
        for row in try Self.array(root, "sockets") {
            let key = ReferenceModel.StateKey(proto: try Self.string(row, "proto"), family: try Self.string(row, "family"),
                                              state: try Self.string(row, "state"))
            guard sockets[key] == nil else { throw Malformed(description: "sockets lists \(key) twice") }
            sockets[key] = try Self.int(row, "count")
            socketRows += 1
        }
        for row in try Self.array(root, "protocols") {
            protocols[try Self.string(row, "proto")] = ReferenceModel.ProtocolFacts(
                portsUsed: try Self.int(row, "ports_used"), boundPorts: try Self.int(row, "bound_ports"))
        }
        for row in try Self.array(root, "sources") {
            let key = ReferenceModel.SourceKey(proto: try Self.string(row, "proto"), family: try Self.string(row, "family"),
                                               address: try Self.string(row, "local_address"))
            guard sources[key] == nil else { throw Malformed(description: "sources lists \(key) twice") }
            sources[key] = ReferenceModel.SourceFacts(
                portsUsed: try Self.int(row, "ports_used"), sockets: try Self.int(row, "sockets"),
                boundPorts: try Self.int(row, "bound_ports"), destinations: try Self.int(row, "destinations"),
                destinationPortsMax: try Self.int(row, "destination_ports_max"))
        }
        for row in try Self.array(root, "destinations") {
            let key = ReferenceModel.DestinationKey(
                proto: try Self.string(row, "proto"), family: try Self.string(row, "family"),
                local: try Self.string(row, "local_address"), remote: try Self.string(row, "remote_address"),
                remotePort: try Self.int(row, "remote_port"))
            guard destinations[key] == nil else { throw Malformed(description: "destinations lists \(key) twice") }
            destinations[key] = ReferenceModel.Count(portsUsed: try Self.int(row, "ports_used"), sockets: try Self.int(row, "sockets"))
        }
        destinationsTotal = try Self.int(root, "destinations_total")
        for row in try Self.array(root, "udp_duplicates") {
            let key = ReferenceModel.TupleKey(
                family: try Self.string(row, "family"), local: try Self.string(row, "local_address"),
                localPort: try Self.int(row, "local_port"), remote: try Self.string(row, "remote_address"),
                remotePort: try Self.int(row, "remote_port"))
            var members: Set<ReferenceModel.DuplicateSocket> = []
            var receiver: UInt64?
            var unknown = false
            for socket in try Self.array(row, "sockets") {
                guard let cookie = (socket["cookie"] as? NSNumber)?.uint64Value else { throw Malformed(description: "cookie in \(socket)") }
                members.insert(ReferenceModel.DuplicateSocket(uid: try Self.int(socket, "uid"), inode: try Self.int(socket, "inode"), cookie: cookie))
                switch socket["receives"] {
                case let flag as Bool: if flag { receiver = cookie }
                case is NSNull: unknown = true
                default: throw Malformed(description: "receives in \(socket)")
                }
            }
            duplicates[key] = members
            if !unknown { receivers[key] = receiver }
        }
        for row in try Self.array(root, "udp_duplicate_totals") {
            duplicateTotals[try Self.string(row, "family")] = (try Self.int(row, "tuples"), try Self.int(row, "sockets"), try Self.int(row, "overshadowed"))
        }
        for row in try Self.array(root, "owners") {
            let uid: Int?
            switch row["uid"] {
            case is NSNull: uid = nil
            case let n as NSNumber: uid = n.intValue
            default: throw Malformed(description: "uid in \(row)")
            }
            let key = ReferenceModel.OwnerKey(proto: try Self.string(row, "proto"), uid: uid, cgroup: try Self.string(row, "cgroup"))
            guard owners[key] == nil else { throw Malformed(description: "owners lists \(key) twice") }
            owners[key] = ReferenceModel.Count(portsUsed: try Self.int(row, "ports_used"), sockets: try Self.int(row, "sockets"))
        }
        ownersTotal = try Self.int(root, "owners_total")
    }

    private static func object(_ o: [String: Any], _ key: String) throws -> [String: Any] {
        guard let v = o[key] as? [String: Any] else { throw Malformed(description: "\(key) is not an object") }
        return v
    }
    private static func array(_ o: [String: Any], _ key: String) throws -> [[String: Any]] {
        guard let v = o[key] as? [[String: Any]] else { throw Malformed(description: "\(key) is not an array of objects") }
        return v
    }
    private static func string(_ o: [String: Any], _ key: String) throws -> String {
        guard let v = o[key] as? String else { throw Malformed(description: "\(key) is not a string in \(o)") }
        return v
    }
    private static func int(_ o: [String: Any], _ key: String) throws -> Int {
        guard let n = o[key] as? NSNumber else { throw Malformed(description: "\(key) is not a number in \(o)") }
        return n.intValue
    }
}
