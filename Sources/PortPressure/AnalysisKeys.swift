import SocketModel

// The analyzer's hash keys: small plain values with cheap hashes (see FlatTable).

/// A local address of one protocol: (proto, family, address).
struct SourceKey: FlatKey {
    var proto: TransportProtocol
    var address: IPAddress

    @inline(__always) var flatHash: UInt64 {
        let tag = UInt64(address.family.rawValue) << 8 | UInt64(proto.rawValue)
        return mix64(address.low ^ mix64(address.high ^ tag))
    }
}

/// A destination from one source: (source index, remote address, remote port).
struct DestinationKey: FlatKey {
    var source: UInt32
    var remotePort: UInt16
    var remoteHigh: UInt64
    var remoteLow: UInt64

    @inline(__always) var flatHash: UInt64 {
        mix64(remoteLow ^ mix64(remoteHigh ^ (UInt64(source) << 16 | UInt64(remotePort))))
    }
}

/// A connected UDP 4-tuple: (source index, local port, remote address, remote port).
struct UDPTupleKey: FlatKey {
    var source: UInt32
    var localPort: UInt16
    var remotePort: UInt16
    var remoteHigh: UInt64
    var remoteLow: UInt64

    @inline(__always) var flatHash: UInt64 {
        let ids = UInt64(source) << 32 | UInt64(localPort) << 16 | UInt64(remotePort)
        return mix64(remoteLow ^ mix64(remoteHigh ^ mix64(ids)))
    }
}

/// An owner: (proto, uid or none, cgroup id or none).
struct OwnerKey: FlatKey {
    var proto: TransportProtocol
    var uid: UInt32?
    var cgroupID: UInt64?

    @inline(__always) var flatHash: UInt64 {
        let u = uid.map { UInt64($0) | 1 << 32 } ?? 0
        let c = cgroupID ?? 0
        let tag = UInt64(proto.rawValue) << 40 | (cgroupID == nil ? 0 : 1 << 48)
        return mix64(c ^ mix64(u ^ tag))
    }
}
