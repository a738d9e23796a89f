// The netlink and inet_diag wire format: constants, bounded loads and the wire layer's error.
//
// Everything under Wire/ is pure Swift over byte buffers (no libmnl, no syscalls), so it can
// be tested on recorded bytes and compiled into the libFuzzer harness with just SocketModel.
// Netlink headers and attributes are in host byte order; inet_diag ports and addresses are
// big-endian. Every load below is preceded by an explicit length check in its caller.

/// Numbers from `linux/netlink.h`, `linux/sock_diag.h` and `linux/inet_diag.h` that Swift
/// cannot import as macros.
enum NetlinkWire {
    /// `sizeof(struct nlmsghdr)`.
    static let headerSize = 16
    /// `NLMSG_ALIGNTO` and `NLA_ALIGNTO`.
    static let alignment = 4

    // nlmsg_type values.
    static let noop: UInt16 = 1          // NLMSG_NOOP
    static let error: UInt16 = 2         // NLMSG_ERROR
    static let done: UInt16 = 3          // NLMSG_DONE
    static let overrun: UInt16 = 4       // NLMSG_OVERRUN
    static let minimumType: UInt16 = 16  // NLMSG_MIN_TYPE
    static let sockDiagByFamily: UInt16 = 20  // SOCK_DIAG_BY_FAMILY
    /// The older `inet_diag` request (`struct inet_diag_req`): the only one that takes
    /// AF_UNSPEC, so one walk of the kernel's TCP tables covers IPv4 and IPv6.
    static let tcpDiagGetSock: UInt16 = 18  // TCPDIAG_GETSOCK

    // nlmsg_flags values.
    static let flagRequest: UInt16 = 0x01   // NLM_F_REQUEST
    static let flagMulti: UInt16 = 0x02     // NLM_F_MULTI
    static let flagDumpInterrupted: UInt16 = 0x10  // NLM_F_DUMP_INTR
    static let flagDump: UInt16 = 0x300     // NLM_F_ROOT | NLM_F_MATCH

    /// `NLA_TYPE_MASK`: attribute types without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
    static let attributeTypeMask: UInt16 = 0x3fff

    static func aligned(_ length: Int) -> Int { (length + alignment - 1) & ~(alignment - 1) }
}

enum InetDiagWire {
    /// `sizeof(struct inet_diag_msg)`.
    static let messageSize = 72
    /// `sizeof(struct inet_diag_req_v2)`.
    static let requestSize = 56
    /// `struct inet_diag_req` (the TCPDIAG_GETSOCK request): family, src_len, dst_len, ext,
    /// the socket id, states, dbs.
    static let compatRequestSize = 60
    /// `sizeof(struct inet_diag_sockid)`.
    static let socketIDSize = 48

    // Offsets inside struct inet_diag_msg.
    static let familyOffset = 0
    static let stateOffset = 1
    static let sourcePortOffset = 4       // id.idiag_sport, big-endian
    static let destinationPortOffset = 6  // id.idiag_dport, big-endian
    static let sourceAddressOffset = 8    // id.idiag_src, 16 bytes, network order
    static let destinationAddressOffset = 24
    static let interfaceOffset = 40       // id.idiag_if
    static let cookieOffset = 44          // id.idiag_cookie[2]: low word, then high word
    static let uidOffset = 64
    static let inodeOffset = 68

    // Request attributes (INET_DIAG_REQ_*).
    static let requestBytecode: UInt16 = 1

    // Reply attributes (INET_DIAG_*).
    static let attributeCgroupID: UInt16 = 21

    /// `INET_DIAG_NOCOOKIE`: both cookie words set, the kernel skips the cookie check.
    static let noCookie: UInt32 = 0xffff_ffff

    // Address families.
    static let afUnspec: UInt8 = 0
    static let afInet: UInt8 = 2
    static let afInet6: UInt8 = 10
}

/// Why bytes could not be taken as a netlink SOCK_DIAG reply (or a recording of one).
enum WireError: Error, Equatable, Sendable {
    /// Truncated or inconsistent bytes.
    case malformed(String)
    /// The kernel answered `NLMSG_ERROR` (or a failed `NLMSG_DONE`) with this errno (positive).
    case kernel(code: Int32)
}

extension UnsafeRawBufferPointer {
    // Callers check `offset + size <= count` first; these only spell the loads.

    @inline(__always) func hostUInt16(at offset: Int) -> UInt16 {
        loadUnaligned(fromByteOffset: offset, as: UInt16.self)
    }

    @inline(__always) func hostUInt32(at offset: Int) -> UInt32 {
        loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    @inline(__always) func hostInt32(at offset: Int) -> Int32 {
        loadUnaligned(fromByteOffset: offset, as: Int32.self)
    }

    @inline(__always) func hostUInt64(at offset: Int) -> UInt64 {
        loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }

    @inline(__always) func bigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) func bigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

/// Appends fixed-size values to a request in the byte orders netlink wants.
struct WireWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    mutating func append(_ value: UInt8) { bytes.append(value) }

    mutating func appendHost(_ value: UInt16) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    mutating func appendHost(_ value: UInt32) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    mutating func appendHost(_ value: Int32) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    mutating func appendHost(_ value: UInt64) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    mutating func appendBigEndian(_ value: UInt16) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func append<C: Collection>(contentsOf values: C) where C.Element == UInt8 { bytes.append(contentsOf: values) }
    mutating func appendZeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }

    /// Overwrites a host-order UInt32 at `offset` (a length field filled in afterwards).
    mutating func setHost(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value) { for i in 0..<4 { bytes[offset + i] = $0[i] } }
    }

    mutating func setHost(_ value: UInt16, at offset: Int) {
        withUnsafeBytes(of: value) { for i in 0..<2 { bytes[offset + i] = $0[i] } }
    }

    /// Pads with zeros to the netlink alignment.
    mutating func align() { appendZeros(NetlinkWire.aligned(bytes.count) - bytes.count) }
}
