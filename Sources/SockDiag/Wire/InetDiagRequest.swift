import SocketModel

/// Builds SOCK_DIAG requests: a `struct nlmsghdr`, a `struct inet_diag_req_v2` and, for a
/// filtered dump, an `INET_DIAG_REQ_BYTECODE` attribute.
enum InetDiagRequest {
    /// A dump of one table (`NLM_F_DUMP`): every socket of `query.proto` and `query.family`
    /// in `query.states` that passes `query.filter`.
    /// Without a family (TCP only), the older `TCPDIAG_GETSOCK` request with AF_UNSPEC: one
    /// walk of the TCP tables for both families.
    static func dump(_ query: DumpQuery, sequence: UInt32) throws(WireError) -> [UInt8] {
        var writer: WireWriter
        if let family = query.family {
            writer = begin(type: NetlinkWire.sockDiagByFamily, flags: NetlinkWire.flagRequest | NetlinkWire.flagDump, sequence: sequence)
            appendRequest(
                to: &writer, family: family, proto: query.proto, states: query.states.rawValue,
                source: nil, destination: nil, interfaceIndex: 0, cookie: nil
            )
        } else {
            guard query.proto == .tcp else { throw .malformed("a \(query.proto.name) dump must name its family") }
            writer = begin(type: NetlinkWire.tcpDiagGetSock, flags: NetlinkWire.flagRequest | NetlinkWire.flagDump, sequence: sequence)
            // struct inet_diag_req
            writer.append(InetDiagWire.afUnspec)  // idiag_family
            writer.append(0)                      // idiag_src_len
            writer.append(0)                      // idiag_dst_len
            writer.append(0)                      // idiag_ext
            appendSocketID(to: &writer, source: nil, destination: nil, interfaceIndex: 0, cookie: nil)
            writer.appendHost(query.states.rawValue)  // idiag_states
            writer.appendHost(UInt32(0))              // idiag_dbs
        }
        if let filter = query.filter {
            let program = try FilterBytecode.compile(filter)
            writer.appendHost(UInt16(NetlinkAttributeCursor.headerSize + program.count))
            writer.appendHost(InetDiagWire.requestBytecode)
            writer.append(contentsOf: program)
            writer.align()
        }
        return finish(writer)
    }

    /// An exact lookup (no `NLM_F_DUMP`): the kernel answers the one socket it would deliver
    /// a packet from `remote` to `local` to, or `ENOENT`.
    ///
    /// TCP looks the id up as (src = local, dst = remote). UDP's `udp_dump_one` passes the
    /// id's source as the packet's source, so for UDP src is the REMOTE end; this swap is done
    /// here so callers always speak of local and remote. With a cookie, the kernel answers
    /// `ESTALE` when the socket it finds has another one.
    static func lookup(
        proto: TransportProtocol, local: SocketEndpoint, remote: SocketEndpoint,
        interfaceIndex: UInt32, cookie: UInt64?, sequence: UInt32
    ) -> [UInt8] {
        var writer = begin(type: NetlinkWire.sockDiagByFamily, flags: NetlinkWire.flagRequest, sequence: sequence)
        let (source, destination) = proto == .udp ? (remote, local) : (local, remote)
        appendRequest(
            to: &writer, family: local.address.family, proto: proto, states: SocketStateMask.all.rawValue,
            source: source, destination: destination, interfaceIndex: interfaceIndex, cookie: cookie
        )
        return finish(writer)
    }

    private static func begin(type: UInt16, flags: UInt16, sequence: UInt32) -> WireWriter {
        var writer = WireWriter()
        writer.appendHost(UInt32(0))  // nlmsg_len, set in finish
        writer.appendHost(type)
        writer.appendHost(flags)
        writer.appendHost(sequence)
        writer.appendHost(UInt32(0))  // nlmsg_pid: the kernel fills in the sender
        return writer
    }

    private static func finish(_ writer: WireWriter) -> [UInt8] {
        var writer = writer
        writer.setHost(UInt32(writer.bytes.count), at: 0)
        return writer.bytes
    }

    private static func appendRequest(
        to writer: inout WireWriter, family: AddressFamily, proto: TransportProtocol, states: UInt32,
        source: SocketEndpoint?, destination: SocketEndpoint?, interfaceIndex: UInt32, cookie: UInt64?
    ) {
        writer.append(family.rawValue)   // sdiag_family
        writer.append(proto.rawValue)    // sdiag_protocol
        writer.append(0)                 // idiag_ext: no extensions; the kernel still sends the cgroup id
        writer.append(0)                 // pad
        writer.appendHost(states)        // idiag_states
        appendSocketID(to: &writer, source: source, destination: destination, interfaceIndex: interfaceIndex, cookie: cookie)
    }

    /// `struct inet_diag_sockid`.
    private static func appendSocketID(
        to writer: inout WireWriter, source: SocketEndpoint?, destination: SocketEndpoint?, interfaceIndex: UInt32, cookie: UInt64?
    ) {
        writer.appendBigEndian(source?.port ?? 0)
        writer.appendBigEndian(destination?.port ?? 0)
        appendAddress(source?.address, to: &writer)
        appendAddress(destination?.address, to: &writer)
        writer.appendHost(interfaceIndex)
        if let cookie {
            writer.appendHost(UInt32(truncatingIfNeeded: cookie))
            writer.appendHost(UInt32(truncatingIfNeeded: cookie >> 32))
        } else {
            writer.appendHost(InetDiagWire.noCookie)
            writer.appendHost(InetDiagWire.noCookie)
        }
    }

    /// A `__be32[4]` address field: IPv4 in the first word, the rest zero.
    private static func appendAddress(_ address: IPAddress?, to writer: inout WireWriter) {
        let bytes = address?.networkBytes ?? []
        writer.append(contentsOf: bytes)
        writer.appendZeros(16 - bytes.count)
    }
}
