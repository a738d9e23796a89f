import Testing
import SocketModel
@testable import PortPressure

@Suite struct StateCountTests {
    @Test func everyKnownStateIsPresentWithZeros() {
        let s = analyze([])
        #expect(s.sockets.count == 2 * 12 + 2 * 2)
        #expect(s.sockets.allSatisfy { $0.count == 0 })
        #expect(s.sockets.prefix(12).map(\.state) == SocketState.tcpStateNames)
        #expect(s.sockets.prefix(12).allSatisfy { $0.proto == .tcp && $0.family == .ipv4 })
        #expect(s.sockets.suffix(2).map(\.state) == ["established", "unconnected"])
        #expect(s.sockets.suffix(2).allSatisfy { $0.proto == .udp && $0.family == .ipv6 })
        #expect(s.recordCount == 0)
    }

    @Test func statesAreCountedByNameProtocolAndFamily() {
        let s = analyze([
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:80"),
            record(.tcp, .established, "10.0.0.1:40002", "10.0.0.2:80"),
            record(.tcp, .synRecv, "10.0.0.1:80", "10.0.0.9:5000"),
            record(.tcp, .newSynRecv, "10.0.0.1:80", "10.0.0.9:5001"),   // request socket: syn_recv
            record(.tcp, .boundInactive, "10.0.0.1:40003"),
            record(.tcp, .listen, "[::]:22"),
            timeWait("[2001:db8::1]:40004", "[2001:db8::2]:443"),
            record(.udp, .established, "10.0.0.1:40005", "10.0.0.3:53"),
            record(.udp, .close, "0.0.0.0:68"),
            record(.tcp, SocketState(rawValue: 99), "10.0.0.1:1"),
        ])
        #expect(s.recordCount == 10)
        #expect(s.count(.tcp, .ipv4, "established") == 2)
        #expect(s.count(.tcp, .ipv4, "syn_recv") == 2)
        #expect(s.count(.tcp, .ipv4, "bound_inactive") == 1)
        #expect(s.count(.tcp, .ipv6, "listen") == 1)
        #expect(s.count(.tcp, .ipv4, "listen") == 0)
        #expect(s.count(.tcp, .ipv6, "time_wait") == 1)
        #expect(s.count(.udp, .ipv4, "established") == 1)
        #expect(s.count(.udp, .ipv4, "unconnected") == 1)
        #expect(s.count(.tcp, .ipv4, "unknown") == 1)
        #expect(s.count(.tcp, .ipv6, "unknown") == nil)
        #expect(s.sockets.reduce(0) { $0 + $1.count } == 10)
    }
}

@Suite struct SourceTests {
    @Test func onlyInRangeUnreservedPortsCount() {
        let s = analyze([
            record(.tcp, .established, "10.0.0.1:40000", "10.0.0.2:80"),   // low bound
            record(.tcp, .established, "10.0.0.1:40099", "10.0.0.2:80"),   // high bound
            record(.tcp, .established, "10.0.0.1:39999", "10.0.0.2:80"),   // below
            record(.tcp, .established, "10.0.0.1:40100", "10.0.0.2:80"),   // above
            record(.tcp, .established, "10.0.0.1:40010", "10.0.0.2:80"),   // reserved
            record(.tcp, .established, "10.0.0.1:40050", "10.0.0.2:80"),   // reserved
            record(.tcp, .established, "10.0.0.1:0", "10.0.0.2:80"),
        ])
        let src = s.source(.tcp, "10.0.0.1")
        #expect(src?.portsUsed == 2)
        #expect(src?.sockets == 2)
        #expect(src?.boundPorts == 0)
        #expect(s.range.limit == 89)
    }

    @Test func portsAreDistinctPerAddressAndProtocol() {
        let s = analyze([
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:80"),
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.3:80"),   // same port, other peer
            timeWait("10.0.0.1:40001", "10.0.0.4:80"),
            record(.tcp, .established, "10.0.0.1:40002", "10.0.0.2:80"),
            record(.tcp, .established, "10.0.0.5:40001", "10.0.0.2:80"),   // other address
            record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53"),   // other protocol
        ])
        #expect(s.source(.tcp, "10.0.0.1")?.portsUsed == 2)
        #expect(s.source(.tcp, "10.0.0.1")?.sockets == 4)
        #expect(s.source(.tcp, "10.0.0.5")?.portsUsed == 1)
        #expect(s.source(.udp, "10.0.0.1")?.portsUsed == 1)
        #expect(s.protocols == [ProtocolUsage(proto: .tcp, portsUsed: 2, boundPorts: 0),
                                ProtocolUsage(proto: .udp, portsUsed: 1, boundPorts: 0)])
    }

    @Test func listenersBoundOnlyAndUnconnectedPortsAreBound() {
        let s = analyze([
            record(.tcp, .listen, "10.0.0.1:40001"),
            record(.tcp, .boundInactive, "10.0.0.1:40002"),
            record(.tcp, .close, "10.0.0.1:40003"),
            record(.tcp, .established, "10.0.0.1:40003", "10.0.0.2:80"),   // shares a bound port
            record(.tcp, .established, "10.0.0.1:40004", "10.0.0.2:80"),
            record(.tcp, .listen, "10.0.0.1:22"),                          // not ephemeral
            record(.udp, .close, "0.0.0.0:40005"),
            record(.udp, .close, "[::]:40005"),
            record(.udp, .established, "10.0.0.1:40006", "10.0.0.2:53"),
        ])
        let tcp = s.source(.tcp, "10.0.0.1")
        #expect(tcp?.portsUsed == 4)
        #expect(tcp?.sockets == 5)
        #expect(tcp?.boundPorts == 3)
        #expect(s.source(.udp, "0.0.0.0")?.boundPorts == 1)
        #expect(s.source(.udp, "::")?.boundPorts == 1)
        #expect(s.source(.udp, "::")?.family == .ipv6)
        #expect(s.source(.udp, "10.0.0.1")?.boundPorts == 0)
        // Port numbers merge over addresses and families.
        #expect(s.protocols[1] == ProtocolUsage(proto: .udp, portsUsed: 2, boundPorts: 1))
        #expect(s.protocols[0] == ProtocolUsage(proto: .tcp, portsUsed: 4, boundPorts: 3))
    }

    @Test func addressesWithoutEphemeralPortsAreListedWithZeros() {
        let s = analyze([record(.tcp, .listen, "0.0.0.0:22"), record(.tcp, .listen, "[::1]:631")])
        #expect(s.sources.count == 2)
        #expect(s.sources.allSatisfy { $0.portsUsed == 0 && $0.sockets == 0 && $0.destinationCount == 0 })
        #expect(s.sources.map(\.family) == [.ipv4, .ipv6])   // sorted by protocol, address
    }

    @Test func ipv6AndMappedAddressesAreTheirOwnSources() {
        let s = analyze([
            record(.tcp, .established, "[2001:db8::1]:40001", "[2001:db8::2]:443"),
            record(.tcp, .established, "[2001:db8::1]:40002", "[2001:db8::2]:443"),
            record(.tcp, .established, "[::ffff:10.0.0.1]:40003", "[::ffff:10.0.0.2]:443"),
            record(.tcp, .established, "10.0.0.1:40004", "10.0.0.2:443"),
        ])
        #expect(s.source(.tcp, "2001:db8::1")?.portsUsed == 2)
        #expect(s.source(.tcp, "::ffff:10.0.0.1")?.portsUsed == 1)
        #expect(s.source(.tcp, "::ffff:10.0.0.1")?.family == .ipv6)
        #expect(s.source(.tcp, "10.0.0.1")?.portsUsed == 1)
        let d = s.source(.tcp, "2001:db8::1")?.topDestinations.first
        #expect(d?.remoteAddress.description == "2001:db8::2")
        #expect(d?.family == .ipv6)
        #expect(d?.portsUsed == 2)
    }
}

@Suite struct DestinationTests {
    @Test func destinationsCountDistinctPortsWithPeers() {
        let s = analyze([
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:80"),
            record(.tcp, .finWait2, "10.0.0.1:40002", "10.0.0.2:80"),
            timeWait("10.0.0.1:40003", "10.0.0.2:80"),
            record(.tcp, .synSent, "10.0.0.1:40004", "10.0.0.2:80"),
            record(.tcp, .established, "10.0.0.1:40005", "10.0.0.2:443"),   // other port: other destination
            record(.tcp, .established, "10.0.0.1:40030", "10.0.0.7:80"),
            record(.tcp, .established, "10.0.0.1:30000", "10.0.0.2:80"),   // not ephemeral
            record(.tcp, .listen, "10.0.0.1:40006"),                        // no peer
        ])
        let src = s.source(.tcp, "10.0.0.1")
        #expect(src?.destinationCount == 3)
        #expect(src?.maxDestinationPortsUsed == 4)
        #expect(s.destinationCount == 3)
        #expect(src?.topDestinations.map(\.portsUsed) == [4, 1, 1])
        // Ties rank by remote address then port.
        #expect(src?.topDestinations.map { "\($0.remoteAddress):\($0.remotePort)" }
                == ["10.0.0.2:80", "10.0.0.2:443", "10.0.0.7:80"])
    }

    @Test func topKCutsKeepExactMaximumAndCount() {
        var records: [SocketRecord] = []
        // Destination i (port 1000+i) gets i+1 sockets, from address .1; one big one from .2.
        var port: UInt16 = 40020
        for i in 0..<8 {
            for _ in 0...i {
                records.append(record(.tcp, .established, "10.0.0.1:\(port)", "10.9.9.9:\(1000 + i)"))
                port += 1
                if port == 40050 { port += 1 }
            }
        }
        for p in 40000..<40009 { records.append(record(.tcp, .established, "10.0.0.2:\(p)", "10.9.9.9:1")) }
        let s = analyze(records, options: AnalysisOptions(topDestinationsPerSource: 3, topDestinations: 2))
        let one = s.source(.tcp, "10.0.0.1")
        #expect(one?.destinationCount == 8)
        #expect(one?.maxDestinationPortsUsed == 8)
        #expect(one?.topDestinations.map(\.portsUsed) == [8, 7, 6])
        #expect(one?.topDestinations.map(\.remotePort) == [1007, 1006, 1005])
        #expect(s.destinationCount == 9)
        #expect(s.topDestinations.map(\.portsUsed) == [9, 8])
        #expect(s.topDestinations.first?.localAddress.description == "10.0.0.2")
        let none = analyze(records, options: AnalysisOptions(topDestinationsPerSource: 0, topDestinations: 0))
        #expect(none.source(.tcp, "10.0.0.1")?.topDestinations.isEmpty == true)
        #expect(none.source(.tcp, "10.0.0.1")?.maxDestinationPortsUsed == 8)
        #expect(none.topDestinations.isEmpty)
    }

    @Test func sharedTuplesCountOncePerPortButEverySocket() {
        let s = analyze([
            record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", cookie: 1),
            record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", cookie: 2),
            record(.udp, .established, "10.0.0.1:40002", "10.0.0.2:53", cookie: 3),
        ])
        let d = s.source(.udp, "10.0.0.1")?.topDestinations.first
        #expect(d?.portsUsed == 2)
        #expect(d?.sockets == 3)
        #expect(s.source(.udp, "10.0.0.1")?.sockets == 3)
        #expect(s.source(.udp, "10.0.0.1")?.portsUsed == 2)
    }
}

@Suite struct UDPDuplicateTests {
    let records = [
        record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", uid: 1000, inode: 11, cookie: 101),
        record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", uid: 1001, inode: 12, cookie: 102, interface: 3),
        record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", uid: 1000, inode: 13, cookie: 103),
        // Same local endpoint, other remote: not a duplicate.
        record(.udp, .established, "10.0.0.1:40001", "10.0.0.3:53", inode: 14, cookie: 104),
        // Non-ephemeral ports duplicate too.
        record(.udp, .established, "[2001:db8::1]:53", "[2001:db8::2]:5353", inode: 15, cookie: 105),
        record(.udp, .established, "[2001:db8::1]:53", "[2001:db8::2]:5353", inode: 16, cookie: 106),
        // Unconnected sockets on the same port never duplicate.
        record(.udp, .close, "10.0.0.1:40001", inode: 17, cookie: 107),
        record(.udp, .close, "10.0.0.1:40001", inode: 18, cookie: 108),
        // TCP sharing a UDP tuple is not a duplicate.
        record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:53", inode: 19, cookie: 109),
    ]

    @Test func duplicatesAreFoundWithEverySocket() throws {
        let s = analyze(records)
        #expect(s.udpDuplicates.count == 2)
        let v4 = try #require(s.udpDuplicates.first)
        #expect(v4.family == .ipv4)
        #expect(v4.local.description == "10.0.0.1:40001")
        #expect(v4.remote.description == "10.0.0.2:53")
        #expect(v4.sockets.map(\.cookie) == [101, 102, 103])
        #expect(v4.sockets.map(\.inode) == [11, 12, 13])
        #expect(v4.sockets.map(\.uid) == [1000, 1001, 1000])
        #expect(v4.sockets.map(\.interfaceIndex) == [0, 3, 0])
        #expect(v4.sockets.allSatisfy { $0.receives == nil })
        #expect(v4.receiver == .unresolved)
        let v6 = s.udpDuplicates[1]
        #expect(v6.family == .ipv6)
        #expect(v6.local.description == "[2001:db8::1]:53")
        #expect(v6.sockets.map(\.cookie) == [105, 106])
        #expect(s.udpDuplicateTotals == [
            UDPDuplicateTotals(family: .ipv4, tuples: 1, sockets: 3, overshadowedSockets: 2),
            UDPDuplicateTotals(family: .ipv6, tuples: 1, sockets: 2, overshadowedSockets: 1),
        ])
    }

    @Test func tiesRankByTupleIPv4First() {
        let s = analyze([
            record(.udp, .established, "[::1]:5000", "[::1]:53", cookie: 1),
            record(.udp, .established, "[::1]:5000", "[::1]:53", cookie: 2),
            record(.udp, .established, "10.0.0.1:7000", "10.0.0.2:53", cookie: 3),
            record(.udp, .established, "10.0.0.1:7000", "10.0.0.2:53", cookie: 4),
            record(.udp, .established, "10.0.0.1:6000", "10.0.0.2:53", cookie: 5),
            record(.udp, .established, "10.0.0.1:6000", "10.0.0.2:53", cookie: 6),
        ])
        #expect(s.udpDuplicates.map(\.local.description) == ["10.0.0.1:6000", "10.0.0.1:7000", "[::1]:5000"])
    }

    @Test func topKCutKeepsExactTotals() {
        let s = analyze(records, options: AnalysisOptions(topUDPDuplicates: 1))
        #expect(s.udpDuplicates.count == 1)
        #expect(s.udpDuplicates.first?.sockets.count == 3)
        #expect(s.udpDuplicateTotals.map(\.tuples) == [1, 1])
        #expect(s.udpDuplicateTotals.map(\.overshadowedSockets) == [2, 1])
    }

    @Test func receiversAreResolvedThroughTheHook() {
        var asked: [FourTuple] = []
        let s = analyze(records).resolvingReceivers { duplicate in
            asked.append(duplicate.tuple)
            return duplicate.family == .ipv4 ? .socket(cookie: 103) : .noSocket
        }
        #expect(asked.count == 2)
        #expect(s.udpDuplicates[0].sockets.map(\.receives) == [false, false, true])
        #expect(s.udpDuplicates[0].receiver == .socket(cookie: 103))
        #expect(s.udpDuplicates[0].overshadowedCount == 2)
        #expect(s.udpDuplicates[1].sockets.map(\.receives) == [false, false])
        #expect(s.udpDuplicates[1].overshadowedCount == 2)
        #expect(s.udpDuplicateTotals.map(\.overshadowedSockets) == [2, 2])
    }

    @Test func aReceiverOutsideTheGroupOvershadowsEveryone() {
        let s = analyze(records).resolvingReceivers { d in
            d.family == .ipv4 ? .socket(cookie: 999) : .failed("EPERM")
        }
        #expect(s.udpDuplicates[0].sockets.allSatisfy { $0.receives == false })
        #expect(s.udpDuplicates[1].sockets.allSatisfy { $0.receives == nil })
        #expect(s.udpDuplicates[1].receiver == .failed("EPERM"))
        #expect(s.udpDuplicateTotals.map(\.overshadowedSockets) == [3, 1])
        // Resolving again replaces, not accumulates.
        let again = s.resolvingReceivers { _ in .socket(cookie: 101) }
        #expect(again.udpDuplicateTotals.map(\.overshadowedSockets) == [2, 2])
    }
}

@Suite struct OwnerTests {
    @Test func ownersCountDistinctPortNumbers() {
        let s = analyze([
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:80", uid: 1000, cgroup: 7),
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.3:80", uid: 1000, cgroup: 7),   // same port
            record(.tcp, .established, "10.0.0.4:40001", "10.0.0.3:80", uid: 1000, cgroup: 7),   // other address
            record(.tcp, .established, "10.0.0.1:40002", "10.0.0.3:80", uid: 1000, cgroup: 8),
            record(.tcp, .listen, "10.0.0.1:40003", uid: 0, inode: 5, cgroup: 1),                 // root, a real socket
            timeWait("10.0.0.1:40004", "10.0.0.2:80"),
            timeWait("10.0.0.1:40005", "10.0.0.2:80"),
            record(.tcp, .established, "10.0.0.1:22", "10.0.0.9:5555", uid: 1000, cgroup: 7),     // not ephemeral
            record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", uid: 1000, cgroup: 7),
        ])
        // uid 1000 in cgroup 7 holds port 40001 on two addresses: one port number, 3 sockets.
        #expect(s.ownerCount == 5)
        #expect(s.owners.map(\.proto) == [.tcp, .tcp, .tcp, .tcp, .udp])
        #expect(s.owners.map(\.uid) == [nil, 1000, 0, 1000, 1000])
        #expect(s.owners.map(\.cgroupID) == [nil, 7, 1, 8, 7])
        #expect(s.owners.map(\.portsUsed) == [2, 1, 1, 1, 1])
        #expect(s.owners.map(\.sockets) == [2, 3, 1, 1, 1])
    }

    @Test func orphanedSocketsKeepTheirUid() {
        // An orphaned socket (closed by its process, still in FIN_WAIT1) has no inode but keeps its uid.
        let s = analyze([
            record(.tcp, .finWait1, "10.0.0.1:40001", "10.0.0.2:80", uid: 1000, inode: 0, cgroup: 4),
            record(.tcp, .finWait1, "10.0.0.1:40002", "10.0.0.2:80", uid: 0, inode: 0, cgroup: 4),
        ])
        #expect(s.owners.map(\.uid) == [0, 1000])
        #expect(s.owners.map(\.cgroupID) == [4, 4])
    }

    @Test func topOwnersKeepTheBiggest() {
        var records: [SocketRecord] = []
        for uid in 0..<5 {
            for p in 0..<(uid + 1) {
                records.append(record(.tcp, .established, "10.0.0.1:\(40020 + uid * 6 + p)", "10.0.0.2:80",
                                      uid: UInt32(1000 + uid)))
            }
        }
        let s = analyze(records, options: AnalysisOptions(topOwners: 2))
        #expect(s.ownerCount == 5)
        #expect(s.owners.map(\.uid) == [1004, 1003])
        #expect(s.owners.map(\.portsUsed) == [5, 4])
    }

    @Test func cgroupPathsResolveOncePerID() {
        let s = analyze([
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:80", uid: 1, cgroup: 7),
            record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:80", uid: 1, cgroup: 7),
            record(.tcp, .established, "10.0.0.1:40002", "10.0.0.2:80", uid: 2, cgroup: 9),
            record(.tcp, .established, "10.0.0.1:40003", "10.0.0.2:80", uid: 3, cgroup: nil),
        ])
        var calls: [UInt64] = []
        let resolved = s.resolvingCgroupPaths { id in
            calls.append(id)
            return id == 7 ? "/system.slice/a.service" : nil
        }
        #expect(calls.sorted() == [7, 9])
        #expect(resolved.owners.filter { $0.cgroupID == 7 }.map(\.cgroupPath) == ["/system.slice/a.service", "/system.slice/a.service"])
        #expect(resolved.owners.filter { $0.cgroupID != 7 }.allSatisfy { $0.cgroupPath == nil })
    }
}

@Suite struct ResetTests {
    @Test func resetForgetsEverythingAndTheAnalyzerIsReusable() {
        var analyzer = PortPressureAnalyzer(range: smallRange)
        let first = [
            record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:80"),
            record(.tcp, .listen, "10.0.0.1:40002"),
            record(.udp, .established, "10.0.0.1:40003", "10.0.0.2:53", cookie: 1),
            record(.udp, .established, "10.0.0.1:40003", "10.0.0.2:53", cookie: 2),
        ]
        for r in first { analyzer.add(r) }
        let before = analyzer.finish()
        analyzer.reset()
        let empty = analyzer.finish()
        #expect(empty == analyze([]))
        for r in first { analyzer.add(r) }
        #expect(analyzer.finish() == before)
        #expect(before.udpDuplicates.count == 1)
        #expect(before.recordCount == 4)
    }

    @Test func finishTwiceAndAddingMoreIsCumulative() {
        var analyzer = PortPressureAnalyzer(range: smallRange)
        analyzer.add(record(.tcp, .established, "10.0.0.1:40001", "10.0.0.2:80"))
        #expect(analyzer.finish() == analyzer.finish())
        analyzer.add(record(.tcp, .established, "10.0.0.1:40002", "10.0.0.2:80"))
        #expect(analyzer.finish().source(.tcp, "10.0.0.1")?.portsUsed == 2)
    }
}
