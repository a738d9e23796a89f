import FoundationEssentials
import SocketModel

/// The machine view of a `Snapshot` (`portpressure report --format json`): the same facts
/// as `ReportTable`, with stable snake_case keys documented in docs/report-json.md.
///
/// Keys are sorted on output; arrays have documented orders; optional values are written
/// as `null`, never left out, so every object of a kind has the same keys. Addresses are
/// canonical text (`IPAddress.description`: dotted IPv4, RFC 5952 IPv6).
public struct ReportJSON: Sendable, Hashable, Codable {
    public var ephemeral: Ephemeral
    public var sockets: [SocketCount]
    public var protocols: [ProtocolUsage]
    public var sources: [Source]
    public var destinations: [Destination]
    public var destinationsTotal: Int
    public var udpDuplicates: [UDPDuplicate]
    public var udpDuplicateTotals: [UDPDuplicateTotals]
    public var owners: [Owner]
    public var ownersTotal: Int

    enum CodingKeys: String, CodingKey {
        case ephemeral, sockets, protocols, sources, destinations
        case destinationsTotal = "destinations_total"
        case udpDuplicates = "udp_duplicates"
        case udpDuplicateTotals = "udp_duplicate_totals"
        case owners
        case ownersTotal = "owners_total"
    }

    public struct Ephemeral: Sendable, Hashable, Codable {
        public var low: Int
        public var high: Int
        /// Reserved ports inside the range.
        public var reserved: Int
        public var limit: Int
    }

    public struct SocketCount: Sendable, Hashable, Codable {
        public var proto: String
        public var family: String
        public var state: String
        public var count: Int
    }

    public struct ProtocolUsage: Sendable, Hashable, Codable {
        public var proto: String
        public var portsUsed: Int
        public var boundPorts: Int

        enum CodingKeys: String, CodingKey {
            case proto
            case portsUsed = "ports_used"
            case boundPorts = "bound_ports"
        }
    }

    public struct Source: Sendable, Hashable, Codable {
        public var proto: String
        public var family: String
        public var localAddress: String
        public var portsUsed: Int
        public var sockets: Int
        public var boundPorts: Int
        public var destinations: Int
        public var destinationPortsMax: Int

        enum CodingKeys: String, CodingKey {
            case proto, family, sockets, destinations
            case localAddress = "local_address"
            case portsUsed = "ports_used"
            case boundPorts = "bound_ports"
            case destinationPortsMax = "destination_ports_max"
        }
    }

    public struct Destination: Sendable, Hashable, Codable {
        public var proto: String
        public var family: String
        public var localAddress: String
        public var remoteAddress: String
        public var remotePort: Int
        public var portsUsed: Int
        public var sockets: Int

        enum CodingKeys: String, CodingKey {
            case proto, family, sockets
            case localAddress = "local_address"
            case remoteAddress = "remote_address"
            case remotePort = "remote_port"
            case portsUsed = "ports_used"
        }
    }

    public struct UDPDuplicate: Sendable, Hashable, Codable {
        public var family: String
        public var localAddress: String
        public var localPort: Int
        public var remoteAddress: String
        public var remotePort: Int
        public var sockets: [DuplicateSocket]

        enum CodingKeys: String, CodingKey {
            case family, sockets
            case localAddress = "local_address"
            case localPort = "local_port"
            case remoteAddress = "remote_address"
            case remotePort = "remote_port"
        }
    }

    public struct DuplicateSocket: Sendable, Hashable, Codable {
        public var uid: UInt32
        public var inode: UInt32
        public var cookie: UInt64
        public var interfaceIndex: UInt32
        /// null when the receiver is unknown.
        public var receives: Bool?

        enum CodingKeys: String, CodingKey {
            case uid, inode, cookie, receives
            case interfaceIndex = "interface_index"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(uid, forKey: .uid)
            try c.encode(inode, forKey: .inode)
            try c.encode(cookie, forKey: .cookie)
            try c.encode(interfaceIndex, forKey: .interfaceIndex)
            try c.encode(receives, forKey: .receives)   // null, not absent
        }
    }

    public struct UDPDuplicateTotals: Sendable, Hashable, Codable {
        public var family: String
        public var tuples: Int
        public var sockets: Int
        public var overshadowed: Int
    }

    public struct Owner: Sendable, Hashable, Codable {
        public var proto: String
        /// null for sockets the kernel reports without an owner (TIME_WAIT, request sockets).
        public var uid: UInt32?
        /// null when the kernel sent no cgroup id.
        public var cgroupID: UInt64?
        /// The cgroup v2 path, "" when unknown.
        public var cgroup: String
        public var portsUsed: Int
        public var sockets: Int

        enum CodingKeys: String, CodingKey {
            case proto, uid, cgroup, sockets
            case cgroupID = "cgroup_id"
            case portsUsed = "ports_used"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(proto, forKey: .proto)
            try c.encode(uid, forKey: .uid)             // null, not absent
            try c.encode(cgroupID, forKey: .cgroupID)   // null, not absent
            try c.encode(cgroup, forKey: .cgroup)
            try c.encode(portsUsed, forKey: .portsUsed)
            try c.encode(sockets, forKey: .sockets)
        }
    }

    /// The document for `snapshot`.
    public init(_ snapshot: Snapshot) {
        let r = snapshot.range
        ephemeral = Ephemeral(low: Int(r.low), high: Int(r.high), reserved: r.reservedInRange, limit: r.limit)
        sockets = snapshot.sockets.map {
            SocketCount(proto: $0.proto.name, family: $0.family.name, state: $0.state, count: $0.count)
        }
        protocols = snapshot.protocols.map {
            ProtocolUsage(proto: $0.proto.name, portsUsed: $0.portsUsed, boundPorts: $0.boundPorts)
        }
        sources = snapshot.sources.map {
            Source(proto: $0.proto.name, family: $0.family.name, localAddress: $0.localAddress.description,
                   portsUsed: $0.portsUsed, sockets: $0.sockets, boundPorts: $0.boundPorts,
                   destinations: $0.destinationCount, destinationPortsMax: $0.maxDestinationPortsUsed)
        }
        destinations = snapshot.topDestinations.map {
            Destination(proto: $0.proto.name, family: $0.family.name, localAddress: $0.localAddress.description,
                        remoteAddress: $0.remoteAddress.description, remotePort: Int($0.remotePort),
                        portsUsed: $0.portsUsed, sockets: $0.sockets)
        }
        destinationsTotal = snapshot.destinationCount
        udpDuplicates = snapshot.udpDuplicates.map { d in
            UDPDuplicate(
                family: d.family.name, localAddress: d.local.address.description, localPort: Int(d.local.port),
                remoteAddress: d.remote.address.description, remotePort: Int(d.remote.port),
                sockets: d.sockets.map {
                    DuplicateSocket(uid: $0.uid, inode: $0.inode, cookie: $0.cookie,
                                    interfaceIndex: $0.interfaceIndex, receives: $0.receives)
                })
        }
        udpDuplicateTotals = snapshot.udpDuplicateTotals.map {
            UDPDuplicateTotals(family: $0.family.name, tuples: $0.tuples, sockets: $0.sockets,
                               overshadowed: $0.overshadowedSockets)
        }
        owners = snapshot.owners.map {
            Owner(proto: $0.proto.name, uid: $0.uid, cgroupID: $0.cgroupID, cgroup: $0.cgroupPath ?? "",
                  portsUsed: $0.portsUsed, sockets: $0.sockets)
        }
        ownersTotal = snapshot.ownerCount
    }

    /// The encoder used for output: sorted keys, no escaped slashes, optionally pretty.
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty
            ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The UTF-8 JSON text, without a trailing newline.
    public func encoded(pretty: Bool = true) throws -> Data {
        try Self.encoder(pretty: pretty).encode(self)
    }
}
