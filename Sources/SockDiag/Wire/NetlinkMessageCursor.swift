/// The fixed header of one netlink message (`struct nlmsghdr`), host byte order.
struct NetlinkMessageHeader: Equatable, Sendable {
    var length: UInt32
    var type: UInt16
    var flags: UInt16
    var sequence: UInt32
    var portID: UInt32

    var isDumpInterrupted: Bool { flags & NetlinkWire.flagDumpInterrupted != 0 }
}

/// Walks the netlink messages of one datagram, checking every length (what `NLMSG_OK` and
/// `NLMSG_NEXT` do in C), without copying: each payload is a slice of the datagram.
struct NetlinkMessageCursor {
    let datagram: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ datagram: UnsafeRawBufferPointer) { self.datagram = datagram }

    /// The next message, nil at the end of the datagram; throws on a truncated header or a
    /// length that is shorter than the header or runs past the datagram.
    mutating func next() throws(WireError) -> (header: NetlinkMessageHeader, payload: UnsafeRawBufferPointer)? {
        let remaining = datagram.count - offset
        if remaining == 0 { return nil }
        guard remaining >= NetlinkWire.headerSize else {
            throw .malformed("truncated netlink header: \(remaining) bytes left at offset \(offset)")
        }
        let header = NetlinkMessageHeader(
            length: datagram.hostUInt32(at: offset),
            type: datagram.hostUInt16(at: offset + 4),
            flags: datagram.hostUInt16(at: offset + 6),
            sequence: datagram.hostUInt32(at: offset + 8),
            portID: datagram.hostUInt32(at: offset + 12)
        )
        guard header.length >= UInt32(NetlinkWire.headerSize) else {
            throw .malformed("netlink message length \(header.length) shorter than its header at offset \(offset)")
        }
        guard header.length <= UInt32(remaining) else {
            throw .malformed("netlink message length \(header.length) exceeds the \(remaining) bytes left at offset \(offset)")
        }
        let length = Int(header.length)
        let payload = UnsafeRawBufferPointer(rebasing: datagram[(offset + NetlinkWire.headerSize)..<(offset + length)])
        // The last message's padding may be missing; never step past the end.
        offset = min(offset + NetlinkWire.aligned(length), datagram.count)
        return (header, payload)
    }
}

/// Walks netlink attributes (`struct nlattr` / `struct rtattr`: 16-bit length including the
/// 4-byte header, 16-bit type, payload padded to 4 bytes), checking every length.
struct NetlinkAttributeCursor {
    let buffer: UnsafeRawBufferPointer
    private(set) var offset = 0

    static let headerSize = 4

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// The next attribute (type without the nested/byte-order flags), nil at the end.
    mutating func next() throws(WireError) -> (type: UInt16, payload: UnsafeRawBufferPointer)? {
        let remaining = buffer.count - offset
        if remaining == 0 { return nil }
        guard remaining >= Self.headerSize else {
            throw .malformed("truncated attribute header: \(remaining) bytes left")
        }
        let length = Int(buffer.hostUInt16(at: offset))
        let type = buffer.hostUInt16(at: offset + 2) & NetlinkWire.attributeTypeMask
        guard length >= Self.headerSize else {
            throw .malformed("attribute \(type) length \(length) shorter than its header")
        }
        guard length <= remaining else {
            throw .malformed("attribute \(type) length \(length) exceeds the \(remaining) bytes left")
        }
        let payload = UnsafeRawBufferPointer(rebasing: buffer[(offset + Self.headerSize)..<(offset + length)])
        offset = min(offset + NetlinkWire.aligned(length), buffer.count)
        return (type, payload)
    }
}
