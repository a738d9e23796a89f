import Testing
@testable import SocketModel

@Suite struct EphemeralRangeParsingTests {
    @Test func kernelFormatParses() throws {
        let r = try EphemeralRange.parse(portRange: "32768\t60999\n", reservedPorts: "\n")
        #expect(r.low == 32768)
        #expect(r.high == 60999)
        #expect(r.reservedInRange == 0)
        #expect(r.limit == 28232)
        #expect(try EphemeralRange.parse(portRange: "1024 1024", reservedPorts: "").limit == 1)
        #expect(try EphemeralRange.parse(portRange: "  1\t65535  \n", reservedPorts: "").limit == 65535)
    }

    @Test(arguments: ["", "\n", "32768", "32768 60999 1", "0 100", "200 100", "a b", "1 65536", "-1 5",
                      "32768,60999", "32768\t60999x"])
    func malformedRangeIsAnError(text: String) {
        #expect(throws: EphemeralRangeError.malformedRange(text)) {
            try EphemeralRange.parse(portRange: text, reservedPorts: "")
        }
    }

    @Test func reservedPortsInsideTheRangeReduceTheLimit() throws {
        let r = try EphemeralRange.parse(portRange: "40000 40099", reservedPorts: "30000,40010-40019,40050,40099,50000-50010\n")
        #expect(r.reservedInRange == 12)
        #expect(r.limit == 100 - 12)
        #expect(r.reservedPorts.count == 1 + 10 + 1 + 1 + 11)
        #expect(r.isEphemeral(40000))
        #expect(!r.isEphemeral(39999))
        #expect(!r.isEphemeral(40100))
        #expect(!r.isEphemeral(40010))
        #expect(!r.isEphemeral(40019))
        #expect(r.isEphemeral(40020))
        #expect(!r.isEphemeral(40099))
        #expect(r.isEphemeral(40098))
        #expect(!r.isEphemeral(0))
    }

    @Test func everyPortReservedGivesLimitZero() throws {
        let r = try EphemeralRange.parse(portRange: "100 101", reservedPorts: "100-101")
        #expect(r.limit == 0)
        #expect(!r.isEphemeral(100) && !r.isEphemeral(101))
    }

    @Test func reservedListForms() throws {
        #expect(try EphemeralRange.parseReservedPorts("").isEmpty)
        #expect(try EphemeralRange.parseReservedPorts("\n").isEmpty)
        #expect(try EphemeralRange.parseReservedPorts("  \t\n").isEmpty)
        #expect(try EphemeralRange.parseReservedPorts("8080").sorted == [8080])
        #expect(try EphemeralRange.parseReservedPorts("8080\n").sorted == [8080])
        #expect(try EphemeralRange.parseReservedPorts("1000-1002,2000").sorted == [1000, 1001, 1002, 2000])
        #expect(try EphemeralRange.parseReservedPorts(" 1000 , 2000-2001 \n").sorted == [1000, 2000, 2001])
        #expect(try EphemeralRange.parseReservedPorts("5-5").sorted == [5])
        #expect(try EphemeralRange.parseReservedPorts("0,65535").sorted == [0, 65535])
        #expect(try EphemeralRange.parseReservedPorts("0-65535").count == 65536)
        #expect(try EphemeralRange.parseReservedPorts("3,1,2,1").sorted == [1, 2, 3])   // unordered, repeated
    }

    @Test(arguments: [
        ("1,,2", ""), (",", ""), ("1,", ""), ("1,\n", "\n"), ("5-3", "5-3"), ("1-2-3", "1-2-3"), ("abc", "abc"),
        ("70000", "70000"), ("-5", "-5"), ("5-", "5-"), ("1 2", "1 2"), ("1-70000", "1-70000"), ("1;2", "1;2"),
    ])
    func malformedReservedEntryIsAnError(text: String, token: String) {
        #expect(throws: EphemeralRangeError.malformedReserved(token: token)) {
            try EphemeralRange.parseReservedPorts(text)
        }
    }

    @Test func malformedReservedFailsTheWholeParse() {
        #expect(throws: EphemeralRangeError.malformedReserved(token: "x")) {
            try EphemeralRange.parse(portRange: "32768 60999", reservedPorts: "1000,x")
        }
    }

    @Test func longListsParseExactly() throws {
        // 3,000 entries alternating single ports and 3-port ranges, as the kernel prints them.
        var entries: [String] = []
        var expected: [UInt16] = []
        var port: UInt16 = 1
        for i in 0..<3_000 {
            if i % 2 == 0 {
                entries.append("\(port)")
                expected.append(port)
            } else {
                entries.append("\(port)-\(port + 2)")
                expected += [port, port + 1, port + 2]
            }
            port += 10
        }
        let text = entries.joined(separator: ",") + "\n"
        #expect(text.utf8.count > 20_000)
        let set = try EphemeralRange.parseReservedPorts(text)
        #expect(set.sorted == expected)
        let r = try EphemeralRange.parse(portRange: "1 65535", reservedPorts: text)
        #expect(r.reservedInRange == expected.count)
        #expect(r.limit == 65535 - expected.count)
    }

    @Test func errorsDescribeTheProblem() {
        #expect(EphemeralRangeError.malformedReserved(token: "5-3").description.contains("\"5-3\""))
        #expect(EphemeralRangeError.malformedRange("0 1").description.contains("ip_local_port_range"))
        #expect(EphemeralRangeError.unreadable(path: "/proc/x", reason: "ENOENT").description == "cannot read /proc/x: ENOENT")
    }
}

@Suite struct PortSetTests {
    @Test func membershipAndCounts() {
        var set = PortSet()
        #expect(set.isEmpty)
        #expect(set.count == 0)
        for p: UInt16 in [0, 63, 64, 65535, 1000, 1000] { set.insert(p) }
        #expect(!set.isEmpty)
        #expect(set.count == 5)
        #expect(set.contains(0) && set.contains(63) && set.contains(64) && set.contains(65535))
        #expect(!set.contains(1) && !set.contains(65534))
        #expect(set.sorted == [0, 63, 64, 1000, 65535])
        #expect(set.count(in: 60...1000) == 3)
        #expect(set.count(in: 65535...65535) == 1)
        set.insert(65530...65535)
        #expect(set.count == 10)
        #expect(PortSet([5, 6, 7]) == PortSet([7, 6, 5]))
    }
}

@Suite struct SocketStateTests {
    @Test func tcpNamesFollowKernelNumbering() {
        // Kernel numbers 1-11, then 13 (12, TCP_NEW_SYN_RECV, is reported as syn_recv).
        let numbers: [UInt8] = Array(1...11) + [13]
        #expect(numbers.map { SocketState(rawValue: $0).name(for: .tcp) } == SocketState.tcpStateNames)
        #expect(SocketState.newSynRecv.name(for: .tcp) == "syn_recv")
        #expect(SocketState.boundInactive.name(for: .tcp) == "bound_inactive")
        #expect(SocketState.timeWait.name(for: .tcp) == "time_wait")
        #expect(SocketState(rawValue: 0).name(for: .tcp) == "unknown")
        #expect(SocketState(rawValue: 14).name(for: .tcp) == "unknown")
    }

    @Test func udpIsEstablishedOrUnconnected() {
        #expect(SocketState.established.name(for: .udp) == "established")
        #expect(SocketState.close.name(for: .udp) == "unconnected")
        #expect(SocketState(rawValue: 0).name(for: .udp) == "unconnected")
    }

    @Test func peersByState() {
        func record(_ proto: TransportProtocol, _ state: SocketState) -> SocketRecord {
            SocketRecord(proto: proto, family: .ipv4, state: state,
                         local: SocketEndpoint(address: .ipv4Loopback, port: 1),
                         remote: SocketEndpoint(address: .ipv4Any, port: 0))
        }
        for state: SocketState in [.established, .synSent, .synRecv, .finWait1, .finWait2, .timeWait,
                                   .closeWait, .lastAck, .closing, .newSynRecv] {
            #expect(record(.tcp, state).hasPeer, "\(state)")
        }
        for state: SocketState in [.listen, .close, .boundInactive] {
            #expect(!record(.tcp, state).hasPeer, "\(state)")
        }
        #expect(record(.udp, .established).hasPeer)
        #expect(!record(.udp, .close).hasPeer)
        #expect(record(.udp, .established).stateName == "established")
        #expect(TransportProtocol.tcp.name == "tcp" && TransportProtocol.udp.name == "udp")
        #expect(AddressFamily.ipv4.name == "ipv4" && AddressFamily.ipv6.name == "ipv6")
    }
}

/// `PortSet.count(in:)` counts whole words; it must agree with a port-by-port count on every
/// kind of range edge (same word, word boundaries, the ends of the port space).
@Test func portSetCountInRangeMatchesNaiveCount() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
        var set = PortSet()
        for _ in 0..<Int.random(in: 0...3000, using: &generator) { set.insert(UInt16.random(in: 0...UInt16.max, using: &generator)) }
        var bounds = [UInt16.random(in: 0...UInt16.max, using: &generator), UInt16.random(in: 0...UInt16.max, using: &generator)].sorted()
        if Bool.random(using: &generator) { bounds[1] = min(UInt16.max, bounds[0] &+ UInt16.random(in: 0...70, using: &generator)) }
        let range = bounds[0]...bounds[1]
        let naive = range.reduce(0) { $0 + (set.contains($1) ? 1 : 0) }
        #expect(set.count(in: range) == naive, "range \(range)")
    }
    let full = PortSet(0...UInt16.max)
    #expect(full.count(in: 0...UInt16.max) == 65536)
    #expect(full.count(in: 63...64) == 2)
    #expect(full.count(in: 65535...65535) == 1)
    #expect(PortSet([0, 64, 127]).count(in: 0...127) == 3)
}
