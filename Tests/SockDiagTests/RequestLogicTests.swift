import Testing
@testable import SockDiag
import SocketModel
import SystemPackage

/// A transport that answers each request with scripted datagrams, so the retry and failure
/// paths the kernel will not produce on demand can be driven.
struct ScriptedTransport: NetlinkTransport {
    enum Reply {
        /// Datagrams built for the request's sequence number.
        case datagrams((UInt32) -> [[UInt8]])
        case failure(SockDiagError)
    }

    let portID: UInt32 = 99
    var sequence: UInt32 = 100
    /// The replies to a request, given its bytes and how many requests came before it.
    let answer: ([UInt8], Int) -> [Reply]
    var pending: [Reply] = []
    var sent: [[UInt8]] = []
    var abandoned = 0
    let buffer = DatagramBuffer()

    /// Answers the requests in order, one entry of `script` each (none after the last).
    init(_ script: [[Reply]]) { self.answer = { _, index in index < script.count ? script[index] : [] } }

    /// Answers each request as `answer` decides from its bytes.
    init(answering answer: @escaping ([UInt8], Int) -> [Reply]) { self.answer = answer }

    mutating func nextSequence() -> UInt32 { sequence += 1; return sequence }

    mutating func send(_ request: [UInt8]) throws(SockDiagError) {
        pending = answer(request, sent.count)
        sent.append(request)
    }

    mutating func receive() throws(SockDiagError) -> UnsafeRawBufferPointer {
        guard !pending.isEmpty else { throw .system(operation: "recvfrom(scripted)", errno: .resourceTemporarilyUnavailable) }
        switch pending.removeFirst() {
        case let .failure(error):
            throw error
        case let .datagrams(make):
            var datagrams = make(sequence)
            let first = datagrams.removeFirst()
            // Later datagrams of the same reply come on later receives.
            pending.insert(contentsOf: datagrams.map { d in Reply.datagrams { _ in [d] } }, at: 0)
            return buffer.hold(first)
        }
    }

    mutating func abandonReply() { abandoned += 1 }
}

/// Keeps the bytes of the datagram last handed out alive, like the session's receive buffer.
final class DatagramBuffer {
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
    func hold(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        storage.copyBytes(from: bytes)
        return UnsafeRawBufferPointer(rebasing: storage[0..<bytes.count])
    }
    deinit { storage.deallocate() }
}

@Suite struct RequestLogicTests {
    let query = DumpQuery(proto: .tcp, family: .ipv4)
    static let interruptedFlags = NetlinkWire.flagMulti | NetlinkWire.flagDumpInterrupted

    func interruptedDump(_ s: UInt32) -> [[UInt8]] {
        [WireBuilder.sockDiagMessage(Samples.v4Established, flags: Self.interruptedFlags, sequence: s), WireBuilder.done(sequence: s)]
    }

    func cleanDump(_ s: UInt32) -> [[UInt8]] {
        [WireBuilder.sockDiagMessage(Samples.v4Established, sequence: s) + WireBuilder.sockDiagMessage(Samples.v4TimeWait, sequence: s),
         WireBuilder.done(sequence: s)]
    }

    func run(_ transport: inout ScriptedTransport, restarts: inout Int, records: inout [SocketRecord]) throws(SockDiagError) -> DumpStatistics {
        try SockDiagRequests.dump(
            [query], countOnly: false, maximumAttempts: 3, transport: &transport, recorder: nil,
            restart: { restarts += 1; records.removeAll() }, visit: { records.append($0) }
        )
    }

    @Test func interruptedOnceIsRetriedAndVisitorsRestart() throws {
        var transport = ScriptedTransport([[.datagrams(interruptedDump)], [.datagrams(cleanDump)]])
        var restarts = 0
        var records: [SocketRecord] = []
        let statistics = try run(&transport, restarts: &restarts, records: &records)
        #expect(restarts == 1)
        #expect(statistics.retries == 1)
        #expect(statistics.records == 2)
        #expect(statistics.messages == 2 + 3)
        #expect(records == [Samples.v4Established, Samples.v4TimeWait])
        #expect(transport.sent.count == 2)
        // Each attempt has its own sequence number.
        #expect(transport.sent[0][8..<12] != transport.sent[1][8..<12])
    }

    @Test func interruptedEveryTimeGivesUpAfterTheBound() {
        var transport = ScriptedTransport(Array(repeating: [.datagrams(interruptedDump)], count: 5))
        var restarts = 0
        var records: [SocketRecord] = []
        #expect(throws: SockDiagError.dumpInterrupted(attempts: 3)) { try run(&transport, restarts: &restarts, records: &records) }
        #expect(transport.sent.count == 3)
        #expect(restarts == 2)
    }

    @Test func noBufferSpaceIsSurfacedAndTheReplyAbandoned() {
        let enobufs = SockDiagError.system(operation: "recvfrom(NETLINK_SOCK_DIAG)", errno: .noBufferSpace)
        var transport = ScriptedTransport([[.datagrams { [WireBuilder.sockDiagMessage(Samples.v4Established, sequence: $0)] }, .failure(enobufs)]])
        var restarts = 0
        var records: [SocketRecord] = []
        #expect(throws: enobufs) { try run(&transport, restarts: &restarts, records: &records) }
        #expect(records.count == 1)
        #expect(transport.abandoned == 1)
        #expect(restarts == 0)
    }

    @Test func foreignSequenceIsMalformedAndAbandoned() {
        var transport = ScriptedTransport([[.datagrams { [WireBuilder.done(sequence: $0 &- 1)] }]])
        var restarts = 0
        var records: [SocketRecord] = []
        #expect(throws: SockDiagError.self) { try run(&transport, restarts: &restarts, records: &records) }
        #expect(transport.abandoned == 1)
    }

    @Test func kernelErrorNamesTheRequest() {
        var transport = ScriptedTransport([[.datagrams { [WireBuilder.error(-1, sequence: $0)] }]])
        var restarts = 0
        var records: [SocketRecord] = []
        #expect(throws: SockDiagError.kernel(errno: .notPermitted, request: "dump tcp/ipv4")) {
            try run(&transport, restarts: &restarts, records: &records)
        }
    }

    @Test func countOnlyReportsRecordsWithoutVisiting() throws {
        var transport = ScriptedTransport([[.datagrams(cleanDump)]])
        var visited = 0
        let statistics = try SockDiagRequests.dump(
            [query], countOnly: true, maximumAttempts: 3, transport: &transport, recorder: nil, restart: {}, visit: { _ in visited += 1 }
        )
        #expect(statistics.records == 2)
        #expect(visited == 0)
    }

    func lookup(_ transport: inout ScriptedTransport, cookie: UInt64? = nil) throws(SockDiagError) -> SocketRecord? {
        try SockDiagRequests.lookup(
            proto: .udp, local: Samples.v4Established.local, remote: Samples.v4Established.remote,
            interfaceIndex: 0, cookie: cookie, transport: &transport
        )
    }

    @Test func lookupMapsNoEntryToNilAndKeepsOtherErrors() throws {
        var missing = ScriptedTransport([[.datagrams { [WireBuilder.error(-2, sequence: $0)] }]])
        #expect(try lookup(&missing) == nil)
        var stale = ScriptedTransport([[.datagrams { [WireBuilder.error(-116, sequence: $0)] }]])
        #expect(throws: SockDiagError.kernel(errno: .staleNFSFileHandle, request: "lookup udp 10.1.2.3:51234 <- 192.0.2.80:443")) {
            try lookup(&stale, cookie: 5)
        }
        var found = ScriptedTransport([[.datagrams { [WireBuilder.sockDiagMessage(Samples.v4Established, flags: 0, sequence: $0)] }]])
        #expect(try lookup(&found)?.cookie == Samples.v4Established.cookie)
        var intMin = ScriptedTransport([[.datagrams { [WireBuilder.error(Int32.min, sequence: $0)] }]])
        #expect(throws: SockDiagError.kernel(errno: Errno(rawValue: Int32.max), request: "lookup udp 10.1.2.3:51234 <- 192.0.2.80:443")) {
            try lookup(&intMin)
        }
    }

    @Test func lookupOfMixedFamiliesSendsNothing() throws {
        var transport = ScriptedTransport([])
        let record = try SockDiagRequests.lookup(
            proto: .tcp, local: Samples.v4Established.local, remote: Samples.v6Listen.local,
            interfaceIndex: 0, cookie: nil, transport: &transport
        )
        #expect(record == nil)
        #expect(transport.sent.isEmpty)
    }
}
