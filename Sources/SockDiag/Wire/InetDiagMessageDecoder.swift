import SocketModel

/// Decodes the payload of one `SOCK_DIAG_BY_FAMILY` reply (`struct inet_diag_msg` followed by
/// `INET_DIAG_*` attributes) into a `SocketRecord`, reading fixed offsets straight from the
/// receive buffer. The protocol is not in the message: the request decided it.
enum InetDiagMessageDecoder {
    static func decode(_ payload: UnsafeRawBufferPointer, proto: TransportProtocol) throws(WireError) -> SocketRecord {
        guard payload.count >= InetDiagWire.messageSize else {
            throw .malformed("inet_diag_msg truncated: \(payload.count) of \(InetDiagWire.messageSize) bytes")
        }
        let family: AddressFamily
        switch payload[InetDiagWire.familyOffset] {
        case InetDiagWire.afInet: family = .ipv4
        case InetDiagWire.afInet6: family = .ipv6
        case let other: throw .malformed("inet_diag_msg family \(other) is neither AF_INET nor AF_INET6")
        }
        let localAddress = address(in: payload, at: InetDiagWire.sourceAddressOffset, family: family)
        let remoteAddress = address(in: payload, at: InetDiagWire.destinationAddressOffset, family: family)
        let cookieLow = UInt64(payload.hostUInt32(at: InetDiagWire.cookieOffset))
        let cookieHigh = UInt64(payload.hostUInt32(at: InetDiagWire.cookieOffset + 4))

        var cgroupID: UInt64?
        var attributes = NetlinkAttributeCursor(UnsafeRawBufferPointer(rebasing: payload[InetDiagWire.messageSize...]))
        while let attribute = try attributes.next() {
            guard attribute.type == InetDiagWire.attributeCgroupID else { continue }  // others are not ours
            guard attribute.payload.count >= 8 else {
                throw .malformed("INET_DIAG_CGROUP_ID attribute has \(attribute.payload.count) bytes, want 8")
            }
            cgroupID = attribute.payload.hostUInt64(at: 0)
        }

        var state = SocketState(rawValue: payload[InetDiagWire.stateOffset])
        if proto == .tcp && state == .close {
            // The kernel has no state for a bound-only TCP socket: it sits in TCP_CLOSE, and a
            // dump reports it (as TCP_CLOSE) only from the bind-table walk that the
            // TCP_BOUND_INACTIVE request bit enables; closed sockets are in no table. So a TCP
            // CLOSE record IS a bound-inactive socket, and is named so.
            state = .boundInactive
        }
        return SocketRecord(
            proto: proto,
            family: family,
            state: state,
            local: SocketEndpoint(address: localAddress, port: payload.bigEndianUInt16(at: InetDiagWire.sourcePortOffset)),
            remote: SocketEndpoint(address: remoteAddress, port: payload.bigEndianUInt16(at: InetDiagWire.destinationPortOffset)),
            interfaceIndex: payload.hostUInt32(at: InetDiagWire.interfaceOffset),
            uid: payload.hostUInt32(at: InetDiagWire.uidOffset),
            inode: payload.hostUInt32(at: InetDiagWire.inodeOffset),
            cookie: cookieHigh << 32 | cookieLow,
            cgroupID: cgroupID
        )
    }

    /// The address at `offset` of a 16-byte `__be32[4]` field: the first 4 bytes for IPv4.
    @inline(__always)
    static func address(in payload: UnsafeRawBufferPointer, at offset: Int, family: AddressFamily) -> IPAddress {
        switch family {
        case .ipv4:
            IPAddress(ipv4: payload.bigEndianUInt32(at: offset))
        case .ipv6:
            IPAddress(ipv6High: payload.bigEndianUInt64(at: offset), low: payload.bigEndianUInt64(at: offset + 8))
        }
    }
}
