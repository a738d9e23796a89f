import SocketModel

/// The sequence and port numbers a reply must carry; nil in a parser skips the check (replay).
struct ReplyAddress: Equatable, Sendable {
    var sequence: UInt32
    /// Our netlink port id: a kernel reply carries it (or 0).
    var portID: UInt32
}

/// Takes the datagrams of one dump in order and hands each socket to a visitor as it is
/// decoded, straight from the datagram (nothing is copied or kept).
///
/// A dump is `SOCK_DIAG_BY_FAMILY` messages (`NLM_F_MULTI`) over any number of datagrams,
/// ended by `NLMSG_DONE`. The kernel marks messages `NLM_F_DUMP_INTR` when the tables changed
/// under the dump: the parser notes it and the caller redoes the dump once this one is done.
struct DumpParser {
    enum Progress: Equatable { case needsMore, finished }

    let proto: TransportProtocol
    let expected: ReplyAddress?
    /// Count sockets without decoding them (the client's `count`).
    let countOnly: Bool

    private(set) var records = 0
    private(set) var messages = 0
    private(set) var bytes = 0
    private(set) var interrupted = false
    private(set) var isFinished = false

    init(proto: TransportProtocol, expected: ReplyAddress?, countOnly: Bool = false) {
        self.proto = proto
        self.expected = expected
        self.countOnly = countOnly
    }

    /// Parses one datagram. Returns `.finished` after `NLMSG_DONE`; throws on malformed bytes,
    /// a foreign sequence or port number, or a kernel error (`NLMSG_ERROR`, failed `NLMSG_DONE`).
    mutating func consume(
        _ datagram: UnsafeRawBufferPointer, visit: (SocketRecord) -> Void
    ) throws(WireError) -> Progress {
        guard !isFinished else { throw .malformed("data after NLMSG_DONE") }
        bytes += datagram.count
        var cursor = NetlinkMessageCursor(datagram)
        while let (header, payload) = try cursor.next() {
            messages += 1
            try check(header)
            if header.isDumpInterrupted { interrupted = true }
            switch header.type {
            case NetlinkWire.sockDiagByFamily, NetlinkWire.tcpDiagGetSock:
                records += 1
                if !countOnly { visit(try InetDiagMessageDecoder.decode(payload, proto: proto)) }
            case NetlinkWire.done:
                // The payload is the dump's result: 0, or a negative errno when it failed.
                if payload.count >= 4 {
                    let status = payload.hostInt32(at: 0)
                    if status != 0 { throw .kernel(code: Self.errnoValue(status)) }
                }
                isFinished = true
                return .finished
            case NetlinkWire.error:
                throw .kernel(code: try Self.errorCode(payload))
            case NetlinkWire.noop:
                continue
            default:
                throw .malformed("unexpected netlink message type \(header.type) in a dump")
            }
        }
        return .needsMore
    }

    private func check(_ header: NetlinkMessageHeader) throws(WireError) {
        guard let expected else { return }
        guard header.sequence == expected.sequence else {
            throw .malformed("reply sequence number \(header.sequence), expected \(expected.sequence)")
        }
        guard header.portID == 0 || header.portID == expected.portID else {
            throw .malformed("reply for netlink port \(header.portID), we are \(expected.portID)")
        }
    }

    /// The positive errno of an `NLMSG_ERROR` payload (`struct nlmsgerr`: int error, then
    /// the request's header); 0 is an acknowledgement.
    static func errorCode(_ payload: UnsafeRawBufferPointer) throws(WireError) -> Int32 {
        guard payload.count >= 4 else {
            throw .malformed("NLMSG_ERROR truncated: \(payload.count) bytes")
        }
        return errnoValue(payload.hostInt32(at: 0))
    }

    /// A kernel error value as a positive errno. The kernel sends `-errno`; negating
    /// `Int32.min` would trap, so the magnitude is clamped instead.
    static func errnoValue(_ value: Int32) -> Int32 {
        Int32(clamping: value.magnitude)
    }
}

/// Parses the reply to an exact lookup: one `SOCK_DIAG_BY_FAMILY` message, or an
/// `NLMSG_ERROR` (`ENOENT` when no socket matches).
enum LookupReplyParser {
    static func parse(
        _ datagram: UnsafeRawBufferPointer, proto: TransportProtocol, expected: ReplyAddress?
    ) throws(WireError) -> SocketRecord {
        var cursor = NetlinkMessageCursor(datagram)
        while let (header, payload) = try cursor.next() {
            if let expected {
                guard header.sequence == expected.sequence else {
                    throw .malformed("reply sequence number \(header.sequence), expected \(expected.sequence)")
                }
                guard header.portID == 0 || header.portID == expected.portID else {
                    throw .malformed("reply for netlink port \(header.portID), we are \(expected.portID)")
                }
            }
            switch header.type {
            case NetlinkWire.sockDiagByFamily, NetlinkWire.tcpDiagGetSock:
                return try InetDiagMessageDecoder.decode(payload, proto: proto)
            case NetlinkWire.error:
                let code = try DumpParser.errorCode(payload)
                if code == 0 { continue }  // an acknowledgement carries nothing
                throw .kernel(code: code)
            case NetlinkWire.noop:
                continue
            default:
                throw .malformed("unexpected netlink message type \(header.type) in a lookup reply")
            }
        }
        throw .malformed("lookup reply without a socket or an error")
    }
}
