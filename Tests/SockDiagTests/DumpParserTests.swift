import Testing
@testable import SockDiag
import SocketModel

@Suite struct InetDiagMessageDecodingTests {
    @Test(arguments: [Samples.v4Established, Samples.v6Listen, Samples.v4TimeWait])
    func decodesEveryFieldAtItsOffset(_ record: SocketRecord) throws {
        #expect(try decode(WireBuilder.inetDiagMessage(record)) == record)
    }

    @Test func protocolComesFromTheRequest() throws {
        let udp = try decode(WireBuilder.inetDiagMessage(Samples.v4Established), proto: .udp)
        #expect(udp.proto == .udp)
        #expect(udp.local == Samples.v4Established.local)
    }

    @Test func tcpCloseIsBoundInactiveButUDPCloseIsUnconnected() throws {
        var record = Samples.v6Listen
        record.state = .close
        #expect(try decode(WireBuilder.inetDiagMessage(record), proto: .tcp).state == .boundInactive)
        #expect(try decode(WireBuilder.inetDiagMessage(record), proto: .udp).state == .close)
        record.state = .boundInactive
        #expect(try decode(WireBuilder.inetDiagMessage(record), proto: .tcp).state == .boundInactive)
    }

    @Test func portsAreBigEndianAndCookieIsLowWordFirst() throws {
        var payload = WireBuilder.inetDiagMessage(Samples.v4Established)
        payload[4] = 0x12; payload[5] = 0x34        // sport
        payload[6] = 0xab; payload[7] = 0xcd        // dport
        for i in 44..<52 { payload[i] = UInt8(i - 43) }  // cookie words 04030201, 08070605
        let record = try decode(payload)
        #expect(record.local.port == 0x1234)
        #expect(record.remote.port == 0xabcd)
        #expect(record.cookie == 0x0807_0605_0403_0201)
    }

    @Test func unknownAttributesAreSkippedAroundTheCgroupID() throws {
        var attributes = WireBuilder.attribute(type: 8, payload: [3])            // INET_DIAG_SHUTDOWN, padded
        attributes += WireBuilder.attribute(type: 14, payload: [])              // INET_DIAG_PAD, empty
        attributes += WireBuilder.attribute(type: 0x8000 | 99, payload: [1, 2, 3, 4, 5])  // nested, unknown
        attributes += WireBuilder.attribute(type: 22, payload: [0, 0], padded: false)      // SOCKOPT, last, unpadded
        var record = Samples.v4Established
        record.cgroupID = nil
        let payload = WireBuilder.inetDiagMessage(record, attributes: attributes)
        #expect(try decode(payload).cgroupID == nil)

        var cgroup = WireBuilder()
        cgroup.u64(0x1122_3344_5566_7788)
        let withCgroup = WireBuilder.inetDiagMessage(
            record,
            attributes: WireBuilder.attribute(type: 8, payload: [0])
                + WireBuilder.attribute(type: InetDiagWire.attributeCgroupID, payload: cgroup.bytes)
                + WireBuilder.attribute(type: 200, payload: [9, 9, 9])
        )
        #expect(try decode(withCgroup).cgroupID == 0x1122_3344_5566_7788)
    }

    @Test func truncatedMessageIsMalformed() {
        let payload = WireBuilder.inetDiagMessage(Samples.v4Established)
        for length in [0, 1, 40, 71] {
            #expect(throws: WireError.self) { try decode(Array(payload.prefix(length))) }
        }
    }

    @Test func unknownFamilyIsMalformed() {
        var payload = WireBuilder.inetDiagMessage(Samples.v4Established)
        payload[0] = 1  // AF_UNIX
        #expect(throws: WireError.malformed("inet_diag_msg family 1 is neither AF_INET nor AF_INET6")) { try decode(payload) }
    }

    @Test func truncatedAttributesAreMalformed() {
        var record = Samples.v4Established
        record.cgroupID = nil
        let base = WireBuilder.inetDiagMessage(record)
        // 3 bytes: less than an attribute header.
        #expect(throws: WireError.self) { try decode(base + [8, 0, 8]) }
        // Length 12, only 8 bytes present.
        #expect(throws: WireError.self) { try decode(base + WireBuilder.attribute(type: 8, payload: [1, 2, 3, 4], length: 12)) }
        // Length 2: shorter than its own header.
        #expect(throws: WireError.self) { try decode(base + WireBuilder.attribute(type: 8, payload: [0, 0, 0, 0], length: 2)) }
        // Cgroup id with 4 bytes instead of 8.
        #expect(throws: WireError.self) {
            try decode(base + WireBuilder.attribute(type: InetDiagWire.attributeCgroupID, payload: [1, 0, 0, 0]))
        }
    }
}

@Suite struct DumpStreamTests {
    @Test func multiPartDumpStreamsEveryRecordInOrder() throws {
        let first = WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.sockDiagMessage(Samples.v4TimeWait)
        let second = WireBuilder.sockDiagMessage(Samples.v6Listen)
        let third = WireBuilder.done()
        let (records, parser, progress) = try parseDump([first, second, third])
        #expect(records == [Samples.v4Established, Samples.v4TimeWait, Samples.v6Listen])
        #expect(progress == [.needsMore, .needsMore, .finished])
        #expect(parser.records == 3)
        #expect(parser.messages == 4)
        #expect(parser.bytes == first.count + second.count + third.count)
        #expect(!parser.interrupted)
    }

    @Test func doneInTheSameDatagramFinishes() throws {
        let (records, _, progress) = try parseDump([WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.done()])
        #expect(records.count == 1)
        #expect(progress == [.finished])
    }

    @Test func emptyDumpIsJustDone() throws {
        let (records, parser, progress) = try parseDump([WireBuilder.done()])
        #expect(records.isEmpty)
        #expect(parser.records == 0)
        #expect(progress == [.finished])
    }

    @Test func dumpInterruptedFlagIsNoted() throws {
        let flagged = WireBuilder.sockDiagMessage(Samples.v4Established, flags: NetlinkWire.flagMulti | NetlinkWire.flagDumpInterrupted)
        let (_, parser, _) = try parseDump([flagged, WireBuilder.done()])
        #expect(parser.interrupted)
        // The kernel may flag only the closing NLMSG_DONE.
        let (_, onDone, _) = try parseDump([WireBuilder.done(flags: NetlinkWire.flagMulti | NetlinkWire.flagDumpInterrupted)])
        #expect(onDone.interrupted)
    }

    @Test func errorWithInt32MinDoesNotTrap() {
        #expect(throws: WireError.kernel(code: Int32.max)) { try parseDump([WireBuilder.error(Int32.min)]) }
        #expect(DumpParser.errnoValue(Int32.min) == Int32.max)
        #expect(DumpParser.errnoValue(-1) == 1)
        #expect(DumpParser.errnoValue(0) == 0)
    }

    @Test func kernelErrorsCarryTheirErrno() {
        #expect(throws: WireError.kernel(code: 1)) { try parseDump([WireBuilder.error(-1)]) }  // EPERM
        #expect(throws: WireError.kernel(code: 22)) {
            try parseDump([WireBuilder.sockDiagMessage(Samples.v4Established), WireBuilder.error(-22)])
        }
        // A dump that failed part way ends with NLMSG_DONE carrying -errno.
        #expect(throws: WireError.kernel(code: 105)) { try parseDump([WireBuilder.done(status: -105)]) }
        #expect(throws: WireError.kernel(code: Int32.max)) { try parseDump([WireBuilder.done(status: Int32.min)]) }
    }

    @Test func truncatedErrorIsMalformed() {
        let shortError = WireBuilder.message(type: NetlinkWire.error, flags: 0, payload: [0xff, 0xff])
        #expect(throws: WireError.malformed("NLMSG_ERROR truncated: 2 bytes")) { try parseDump([shortError]) }
    }

    @Test func truncatedHeadersAreMalformed() {
        let message = WireBuilder.sockDiagMessage(Samples.v4Established)
        // Fewer bytes than a header.
        #expect(throws: WireError.self) { try parseDump([Array(message.prefix(10))]) }
        // A whole message, then 8 stray bytes.
        #expect(throws: WireError.self) { try parseDump([message + Array(message.prefix(8))]) }
        // Header claims more than the datagram holds.
        #expect(throws: WireError.self) { try parseDump([Array(message.dropLast(4))]) }
        // Header claims less than a header.
        var short = message
        short[0] = 15; short[1] = 0; short[2] = 0; short[3] = 0
        #expect(throws: WireError.self) { try parseDump([short]) }
        // Header claims a huge length.
        var huge = message
        huge[0] = 0xff; huge[1] = 0xff; huge[2] = 0xff; huge[3] = 0xff
        #expect(throws: WireError.self) { try parseDump([huge]) }
    }

    @Test func lastMessageMayLackPadding() throws {
        // A 3-byte NOOP payload at the end: length 19, no padding after it.
        let datagram = WireBuilder.sockDiagMessage(Samples.v4Established)
            + WireBuilder.message(type: NetlinkWire.noop, payload: [1, 2, 3], padded: false)
        let (records, parser, progress) = try parseDump([datagram, WireBuilder.done()])
        #expect(records.count == 1)
        #expect(parser.messages == 3)
        #expect(progress == [.needsMore, .finished])
    }

    @Test func foreignSequenceOrPortIsRejected() throws {
        let expected = ReplyAddress(sequence: 7, portID: 99)
        #expect(throws: WireError.malformed("reply sequence number 8, expected 7")) {
            try parseDump([WireBuilder.sockDiagMessage(Samples.v4Established, sequence: 8)], expected: expected)
        }
        let otherPort = WireBuilder.message(type: NetlinkWire.done, sequence: 7, portID: 12345, payload: [0, 0, 0, 0])
        #expect(throws: WireError.malformed("reply for netlink port 12345, we are 99")) { try parseDump([otherPort], expected: expected) }
        // Port 0 (sent by the kernel without a destination) and our own port are both fine.
        let kernel = WireBuilder.message(type: NetlinkWire.done, sequence: 7, portID: 0, payload: [0, 0, 0, 0])
        #expect(try parseDump([kernel], expected: expected).progress == [.finished])
        #expect(try parseDump([WireBuilder.done()], expected: expected).progress == [.finished])
    }

    @Test func dataAfterDoneIsRejected() {
        #expect(throws: WireError.malformed("data after NLMSG_DONE")) {
            try parseDump([WireBuilder.done(), WireBuilder.sockDiagMessage(Samples.v4Established)])
        }
    }

    @Test func unexpectedMessageTypeIsRejected() {
        let overrun = WireBuilder.message(type: NetlinkWire.overrun, payload: [])
        #expect(throws: WireError.malformed("unexpected netlink message type 4 in a dump")) { try parseDump([overrun]) }
        let route = WireBuilder.message(type: 24, payload: [0, 0, 0, 0])
        #expect(throws: WireError.self) { try parseDump([route]) }
    }

    @Test func countOnlyWalksHeadersWithoutDecoding() throws {
        // A record whose payload is too short to decode still counts: only headers are read.
        let undecodable = WireBuilder.message(type: NetlinkWire.sockDiagByFamily, payload: [2, 1, 0, 0])
        let (records, parser, _) = try parseDump(
            [WireBuilder.sockDiagMessage(Samples.v4Established) + undecodable, WireBuilder.done()], countOnly: true
        )
        #expect(records.isEmpty)
        #expect(parser.records == 2)
        #expect(throws: WireError.self) { try parseDump([undecodable, WireBuilder.done()]) }
    }
}

@Suite struct LookupReplyTests {
    func parse(_ datagram: [UInt8], proto: TransportProtocol = .udp) throws(WireError) -> SocketRecord {
        let result: Result<SocketRecord, WireError> = datagram.withUnsafeBytes { raw in
            do throws(WireError) {
                return .success(try LookupReplyParser.parse(raw, proto: proto, expected: ReplyAddress(sequence: 7, portID: 99)))
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    @Test func answerIsTheRecord() throws {
        var expected = Samples.v4Established
        expected.proto = .udp
        #expect(try parse(WireBuilder.sockDiagMessage(Samples.v4Established, flags: 0)) == expected)
    }

    @Test func errorsAreKernelErrors() {
        #expect(throws: WireError.kernel(code: 2)) { try parse(WireBuilder.error(-2)) }
        #expect(throws: WireError.kernel(code: 116)) { try parse(WireBuilder.error(-116)) }  // ESTALE
        #expect(throws: WireError.kernel(code: Int32.max)) { try parse(WireBuilder.error(Int32.min)) }
    }

    @Test func acknowledgementBeforeTheRecordIsSkipped() throws {
        #expect(try parse(WireBuilder.error(0) + WireBuilder.sockDiagMessage(Samples.v6Listen, flags: 0)).local == Samples.v6Listen.local)
    }

    @Test func emptyOrForeignRepliesAreMalformed() {
        #expect(throws: WireError.malformed("lookup reply without a socket or an error")) { try parse([]) }
        #expect(throws: WireError.self) { try parse(WireBuilder.sockDiagMessage(Samples.v6Listen, sequence: 6)) }
        #expect(throws: WireError.self) { try parse(WireBuilder.done()) }
    }
}
