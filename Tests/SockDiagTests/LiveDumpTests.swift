#if canImport(Glibc)
import Glibc
#endif
import Testing
import SockDiag
import SocketModel
import SystemPackage
import TestSupport

/// Dumps of real sockets in a private network namespace. Work happens on the namespace's
/// thread; results come back and are checked on the test's own.
@Suite struct LiveDumpTests {
    @Test func dumpFindsExactlyTheSocketsMade() throws {
        let ns = try NetworkNamespace()
        try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
        let (population, records, cookie, inode) = try ns.run { () -> (FixedPopulation, [SocketRecord], UInt64, UInt32) in
            let client = try SockDiagClient()
            let population = try FixedPopulation.make()
            var records: [SocketRecord] = []
            // The TIME_WAIT socket appears once the FIN exchange on loopback has run.
            _ = eventually(timeout: .seconds(2)) {
                records = try dumpEverything(client)
                return Set(records.map(SocketKey.init)) == population.expected
            }
            return (population, records, try population.client4.cookie(), UInt32(truncatingIfNeeded: try population.client4.inode()))
        }
        let keys = Set(records.map(SocketKey.init))
        #expect(keys == population.expected, "missing \(population.expected.subtracting(keys)), extra \(keys.subtracting(population.expected))")
        #expect(records.count == population.expected.count, "no socket reported twice")

        // Fields beyond the 4-tuple: the client socket's cookie and inode, uid, cgroup id.
        let clientRecord = try #require(records.first { $0.local == FixedPopulation.client4Endpoint && $0.state == .established })
        #expect(clientRecord.cookie == cookie)
        #expect(clientRecord.inode == inode)
        #expect(clientRecord.uid == getuid())
        #expect(clientRecord.cgroupID != nil)
        #expect(clientRecord.interfaceIndex == 0)
        let timeWait = try #require(records.first { $0.state == .timeWait })
        #expect(timeWait.inode == 0, "TIME_WAIT sockets have no file")
        #expect(timeWait.cgroupID == nil, "TIME_WAIT sockets carry no attributes")
        #expect(timeWait.cookie != 0)
        let bound = try #require(records.first { $0.local == FixedPopulation.boundOnly })
        #expect(bound.state == .boundInactive)
        #expect(bound.stateName == "bound_inactive")
        #expect(Set(records.map(\.cookie)).count == records.count, "cookies are unique")
    }

    @Test func countMatchesTheDump() throws {
        let ns = try NetworkNamespace()
        try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
        let results = try ns.run { () -> [(DumpQuery, Int, DumpStatistics, Int)] in
            let client = try SockDiagClient()
            let population = try FixedPopulation.make()
            _ = eventually(timeout: .seconds(2)) { (try? dumpEverything(client).count) == population.expected.count }
            return try DumpQuery.everySocket.map { query in
                var visited = 0
                let statistics = try client.dump(query) { _ in visited += 1 }
                return (query, visited, statistics, try client.count(query))
            }
        }
        for (query, visited, statistics, count) in results {
            #expect(count == visited, "\(query)")
            #expect(statistics.records == visited)
            #expect(statistics.retries == 0)
            #expect(statistics.messages == visited + 1, "records and NLMSG_DONE")
        }
        #expect(results.map(\.1) == [5, 3, 2, 1], "tcp4, tcp6, udp4, udp6")
    }

    /// One TCP request for both families (TCPDIAG_GETSOCK, AF_UNSPEC) finds exactly the sockets
    /// of the two per-family dumps: listeners, established, TIME_WAIT and bound-only, IPv4 and
    /// IPv6, each once; its count agrees; and a recording of it replays to the same records.
    @Test func bothFamiliesTCPDumpEqualsThePerFamilyDumps() throws {
        let ns = try NetworkNamespace()
        try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
        let path = temporaryPath("both-families.ppsd")
        defer { unlink(path) }
        let (separate, together, count) = try ns.run { () -> ([SocketRecord], [SocketRecord], Int) in
            let client = try SockDiagClient()
            let population = try FixedPopulation.make()
            _ = eventually(timeout: .seconds(2)) { (try? dumpEverything(client).count) == population.expected.count }
            var separate: [SocketRecord] = []
            for family in AddressFamily.allCases {
                try client.dump(DumpQuery(proto: .tcp, family: family)) { separate.append($0) }
            }
            var together: [SocketRecord] = []
            let recorder = try DumpRecorder(path: path)
            let statistics = try client.dump(DumpQuery(proto: .tcp, family: nil), recorder: recorder) { together.append($0) }
            try recorder.close()
            precondition(statistics.records == together.count)
            return (separate, together, try client.count(DumpQuery(proto: .tcp, family: nil)))
        }
        #expect(separate.count == 8, "the fixed population's TCP sockets")
        #expect(Set(together.map(SocketKey.init)) == Set(separate.map(SocketKey.init)))
        #expect(together.count == separate.count, "no socket twice")
        #expect(Set(together.map(\.cookie)) == Set(separate.map(\.cookie)))
        #expect(Set(together.map(\.family)) == [.ipv4, .ipv6])
        #expect(together.contains { $0.state == .boundInactive } && together.contains { $0.state == .timeWait })
        #expect(count == together.count)
        var replayed: [SocketRecord] = []
        try DumpReplay.replay(fileAt: path) { replayed.append($0) }
        #expect(replayed == together)
    }

    @Test func stateMaskSelectsStates() throws {
        let ns = try NetworkNamespace()
        try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
        let (selected, withoutBound) = try ns.run { () -> ([SocketState], [SocketState]) in
            let client = try SockDiagClient()
            let population = try FixedPopulation.make()
            _ = eventually(timeout: .seconds(2)) { (try? dumpEverything(client).count) == population.expected.count }
            var selected: [SocketState] = []
            try client.dump(DumpQuery(proto: .tcp, family: .ipv4, states: SocketStateMask([.listen, .timeWait]))) { selected.append($0.state) }
            var mask = SocketStateMask.all
            mask.remove(SocketStateMask([.boundInactive]))
            var withoutBound: [SocketState] = []
            try client.dump(DumpQuery(proto: .tcp, family: .ipv4, states: mask)) { withoutBound.append($0.state) }
            withExtendedLifetime(population) {}
            return (selected, withoutBound)
        }
        #expect(selected.sorted() == [.timeWait, .listen])
        // Without bit 13 the kernel leaves the bound-only socket out (CLOSE's bit 7 is set).
        #expect(withoutBound.sorted() == [.established, .established, .timeWait, .listen])
    }

    @Test func manySocketsSpanSeveralDatagrams() throws {
        let ns = try NetworkNamespace()
        let (ports, statistics, count) = try ns.run { () -> ([UInt16], DumpStatistics, Int) in
            let client = try SockDiagClient()
            let sockets = try boundUDPSockets(UInt16(20000)..<20600)
            var ports: [UInt16] = []
            let statistics = try client.dump(DumpQuery(proto: .udp, family: .ipv4)) { ports.append($0.local.port) }
            let count = try client.count(DumpQuery(proto: .udp, family: .ipv4))
            withExtendedLifetime(sockets) {}
            return (ports, statistics, count)
        }
        #expect(ports.sorted() == Array(UInt16(20000)..<20600))
        #expect(statistics.bytes > 32 * 1024, "600 sockets need more than one 32 KiB datagram")
        #expect(count == 600)
    }

    @Test func namespacesAreIsolated() throws {
        let first = try NetworkNamespace()
        let second = try NetworkNamespace()
        let held = try first.run { () -> TestSocket in
            let s = try TestSocket(.ipv4, .udp)
            try s.bind(.at("127.0.0.1", 7777))
            return s
        }
        // Created on the second namespace's thread, the client sees only that namespace...
        let seen = try second.run { try SockDiagClient().count(DumpQuery(proto: .udp, family: .ipv4)) }
        #expect(seen == 0)
        // ...and one created in the first keeps seeing the first from any thread.
        let client = try first.run { try SockDiagClient() }
        #expect(try client.count(DumpQuery(proto: .udp, family: .ipv4)) == 1)
        held.close()
        #expect(try client.count(DumpQuery(proto: .udp, family: .ipv4)) == 0)
    }
}
