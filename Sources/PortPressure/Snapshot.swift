import SocketModel

/// The port-pressure facts of one pass over a network namespace's sockets.
///
/// Lists cut to a top K (`AnalysisOptions`) always come with the exact figure they were cut
/// from (`destinationCount`, `SourceUsage.maxDestinationPortsUsed`, `udpDuplicateTotals`,
/// `ownerCount`), so a consumer never mistakes a cut list for a total.
public struct Snapshot: Sendable, Hashable {
    /// The effective ephemeral range the records were counted against.
    public var range: EphemeralRange
    /// The top-K sizes used.
    public var options: AnalysisOptions
    /// The number of records analyzed (since the last `reset()`).
    public var recordCount: Int
    /// Socket counts for every protocol, family and known state name (zeros included, so the
    /// set of entries never changes), in the order tcp/udp, ipv4/ipv6, kernel state order; a
    /// state the kernel reports but SocketModel doesn't know is counted as `unknown` (present
    /// only when non-zero).
    public var sockets: [SocketCount]
    /// Per protocol, distinct ephemeral port numbers in use on any address of either family.
    public var protocols: [ProtocolUsage]
    /// Every local address seen on any socket, sorted by protocol, family, address.
    public var sources: [SourceUsage]
    /// The busiest destinations over all local addresses (`options.topDestinations`), by
    /// ports used, descending.
    public var topDestinations: [DestinationUsage]
    /// The exact number of destinations (sockets holding an ephemeral port with a peer).
    public var destinationCount: Int
    /// Duplicate UDP 4-tuples with the most sockets (`options.topUDPDuplicates`).
    public var udpDuplicates: [UDPDuplicate]
    /// Exact duplicate counts per family (both families always present, ipv4 first).
    public var udpDuplicateTotals: [UDPDuplicateTotals]
    /// The owners holding the most ephemeral ports (`options.topOwners`).
    public var owners: [OwnerUsage]
    /// The exact number of distinct owners holding ephemeral ports.
    public var ownerCount: Int

    public init(
        range: EphemeralRange, options: AnalysisOptions = AnalysisOptions(), recordCount: Int = 0,
        sockets: [SocketCount] = [], protocols: [ProtocolUsage] = [], sources: [SourceUsage] = [],
        topDestinations: [DestinationUsage] = [], destinationCount: Int = 0,
        udpDuplicates: [UDPDuplicate] = [], udpDuplicateTotals: [UDPDuplicateTotals] = [],
        owners: [OwnerUsage] = [], ownerCount: Int = 0
    ) {
        self.range = range
        self.options = options
        self.recordCount = recordCount
        self.sockets = sockets
        self.protocols = protocols
        self.sources = sources
        self.topDestinations = topDestinations
        self.destinationCount = destinationCount
        self.udpDuplicates = udpDuplicates
        self.udpDuplicateTotals = udpDuplicateTotals
        self.owners = owners
        self.ownerCount = ownerCount
    }
}

/// The number of sockets of one protocol, family and state.
public struct SocketCount: Sendable, Hashable {
    public var proto: TransportProtocol
    public var family: AddressFamily
    /// The state name (`SocketState.name(for:)`): `established`, `time_wait`, `unconnected`, …
    public var state: String
    public var count: Int

    public init(proto: TransportProtocol, family: AddressFamily, state: String, count: Int) {
        self.proto = proto
        self.family = family
        self.state = state
        self.count = count
    }
}

/// Port numbers in use by one protocol on any address of either family. IPv4 and IPv6 share
/// one port space per protocol in the kernel, and `connect()` skips any port some socket
/// holds by `bind()`/`listen()` on any address, so `boundPorts` are out of every
/// destination's pool.
public struct ProtocolUsage: Sendable, Hashable {
    public var proto: TransportProtocol
    /// Distinct ephemeral port numbers held by any socket of this protocol.
    public var portsUsed: Int
    /// Of those, the ones held by a listening, bound-only or unconnected socket.
    public var boundPorts: Int

    public init(proto: TransportProtocol, portsUsed: Int, boundPorts: Int) {
        self.proto = proto
        self.portsUsed = portsUsed
        self.boundPorts = boundPorts
    }
}

/// Ephemeral-port use on one local address (a "source").
///
/// A socket bound to the wildcard address (`0.0.0.0`, `::`) is counted under that wildcard
/// address, not fanned out to the host's addresses (the analysis knows no interface list);
/// its port is unavailable to `bind()` on every address of the family.
public struct SourceUsage: Sendable, Hashable {
    public var proto: TransportProtocol
    public var family: AddressFamily
    public var localAddress: IPAddress
    /// Distinct local ports inside the ephemeral range and not reserved.
    public var portsUsed: Int
    /// Sockets holding those ports (every state, TIME_WAIT included).
    public var sockets: Int
    /// Of `portsUsed`, the ports held by at least one socket without a peer: a TCP listener,
    /// a TCP socket bound but not connected (`close`, `bound_inactive`), an unconnected UDP
    /// socket. These are taken out of `connect()`'s pool.
    public var boundPorts: Int
    /// The exact number of distinct destinations from this address.
    public var destinationCount: Int
    /// The exact largest `DestinationUsage.portsUsed` over all destinations from this address
    /// (0 when none).
    public var maxDestinationPortsUsed: Int
    /// The busiest destinations from this address (`options.topDestinationsPerSource`), by
    /// ports used, descending.
    public var topDestinations: [DestinationUsage]

    public init(
        proto: TransportProtocol, family: AddressFamily, localAddress: IPAddress,
        portsUsed: Int = 0, sockets: Int = 0, boundPorts: Int = 0, destinationCount: Int = 0,
        maxDestinationPortsUsed: Int = 0, topDestinations: [DestinationUsage] = []
    ) {
        self.proto = proto
        self.family = family
        self.localAddress = localAddress
        self.portsUsed = portsUsed
        self.sockets = sockets
        self.boundPorts = boundPorts
        self.destinationCount = destinationCount
        self.maxDestinationPortsUsed = maxDestinationPortsUsed
        self.topDestinations = topDestinations
    }
}

/// Ephemeral-port use towards one destination from one local address: the pool `connect()`
/// draws from for that (local address, remote address, remote port).
public struct DestinationUsage: Sendable, Hashable {
    public var proto: TransportProtocol
    public var family: AddressFamily
    public var localAddress: IPAddress
    public var remoteAddress: IPAddress
    public var remotePort: UInt16
    /// Distinct ephemeral local ports held by sockets connected to this destination.
    public var portsUsed: Int
    /// Sockets connected to this destination from an ephemeral port (more than `portsUsed`
    /// only when sockets share a 4-tuple, as duplicate UDP sockets do).
    public var sockets: Int

    public init(
        proto: TransportProtocol, family: AddressFamily, localAddress: IPAddress,
        remoteAddress: IPAddress, remotePort: UInt16, portsUsed: Int, sockets: Int
    ) {
        self.proto = proto
        self.family = family
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.portsUsed = portsUsed
        self.sockets = sockets
    }
}

/// One socket of a duplicate UDP 4-tuple.
public struct DuplicateSocket: Sendable, Hashable {
    public var uid: UInt32
    public var inode: UInt32
    public var cookie: UInt64
    public var interfaceIndex: UInt32
    /// Whether this socket receives the tuple's datagrams: nil until receivers are resolved
    /// (`Snapshot.resolvingReceivers`) or when the lookup failed.
    public var receives: Bool?

    public init(uid: UInt32, inode: UInt32, cookie: UInt64, interfaceIndex: UInt32 = 0, receives: Bool? = nil) {
        self.uid = uid
        self.inode = inode
        self.cookie = cookie
        self.interfaceIndex = interfaceIndex
        self.receives = receives
    }
}

/// The outcome of asking the kernel which socket a duplicate 4-tuple's datagrams go to.
public enum ReceiverLookup: Sendable, Hashable {
    /// Not asked (yet).
    case unresolved
    /// The kernel delivers to the socket with this cookie (it may be outside the group,
    /// e.g. a socket bound to a device).
    case socket(cookie: UInt64)
    /// The kernel found no socket for the tuple.
    case noSocket
    /// The lookup failed; the reason is for people.
    case failed(String)
}

/// A 4-tuple held by more than one connected UDP socket. The kernel delivers each datagram
/// to one of them; the others receive nothing ("overshadowed").
public struct UDPDuplicate: Sendable, Hashable {
    public var family: AddressFamily
    public var local: SocketEndpoint
    public var remote: SocketEndpoint
    /// The sockets in the order the dump reported them.
    public var sockets: [DuplicateSocket]
    public var receiver: ReceiverLookup

    public init(family: AddressFamily, local: SocketEndpoint, remote: SocketEndpoint,
                sockets: [DuplicateSocket], receiver: ReceiverLookup = .unresolved) {
        self.family = family
        self.local = local
        self.remote = remote
        self.sockets = sockets
        self.receiver = receiver
    }

    public var tuple: FourTuple { FourTuple(local: local, remote: remote) }

    /// Sockets that receive nothing: all but the receiver when it is one of them, all of them
    /// when the kernel delivers elsewhere or nowhere, and all but one while unresolved.
    public var overshadowedCount: Int {
        switch receiver {
        case let .socket(cookie):
            sockets.contains { $0.cookie == cookie } ? sockets.count - 1 : sockets.count
        case .noSocket:
            sockets.count
        case .unresolved, .failed:
            sockets.count - 1
        }
    }
}

/// Exact duplicate-UDP counts of one family.
public struct UDPDuplicateTotals: Sendable, Hashable {
    public var family: AddressFamily
    /// 4-tuples held by more than one connected UDP socket.
    public var tuples: Int
    /// Sockets of those tuples.
    public var sockets: Int
    /// Sockets of those tuples that receive nothing: all but one per tuple, corrected by
    /// `resolvingReceivers` for the tuples it resolved.
    public var overshadowedSockets: Int

    public init(family: AddressFamily, tuples: Int, sockets: Int, overshadowedSockets: Int) {
        self.family = family
        self.tuples = tuples
        self.sockets = sockets
        self.overshadowedSockets = overshadowedSockets
    }
}

/// Ephemeral-port use of one owner: a (protocol, uid, cgroup) triple.
///
/// The kernel reports TIME_WAIT and request (SYN_RECV) sockets with uid 0, no inode and no
/// cgroup: such sockets have no known owner (`uid == nil`) instead of being charged to root.
public struct OwnerUsage: Sendable, Hashable {
    public var proto: TransportProtocol
    /// nil when the kernel reports no owner (see above).
    public var uid: UInt32?
    /// The cgroup v2 id, nil when the kernel did not send one.
    public var cgroupID: UInt64?
    /// The cgroup path (e.g. `/system.slice/nginx.service`), set by `resolvingCgroupPaths`.
    public var cgroupPath: String?
    /// Distinct ephemeral port numbers held by this owner's sockets, on any local address
    /// (comparable to `EphemeralRange.limit`).
    public var portsUsed: Int
    /// This owner's sockets holding ephemeral ports.
    public var sockets: Int

    public init(proto: TransportProtocol, uid: UInt32?, cgroupID: UInt64?, cgroupPath: String? = nil,
                portsUsed: Int, sockets: Int) {
        self.proto = proto
        self.uid = uid
        self.cgroupID = cgroupID
        self.cgroupPath = cgroupPath
        self.portsUsed = portsUsed
        self.sockets = sockets
    }
}

/// Top-K sizes. Every cut keeps its exact total elsewhere in the `Snapshot`.
public struct AnalysisOptions: Sendable, Hashable {
    /// Destinations kept per local address (the metrics' top K).
    public var topDestinationsPerSource: Int
    /// Destinations kept over all local addresses (the report's list).
    public var topDestinations: Int
    /// Owners kept.
    public var topOwners: Int
    /// Duplicate UDP 4-tuples kept (and resolved by `resolvingReceivers`).
    public var topUDPDuplicates: Int

    public init(topDestinationsPerSource: Int = 10, topDestinations: Int = 10,
                topOwners: Int = 10, topUDPDuplicates: Int = 20) {
        self.topDestinationsPerSource = max(0, topDestinationsPerSource)
        self.topDestinations = max(0, topDestinations)
        self.topOwners = max(0, topOwners)
        self.topUDPDuplicates = max(0, topUDPDuplicates)
    }
}
