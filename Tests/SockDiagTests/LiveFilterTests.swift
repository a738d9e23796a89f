#if canImport(Glibc)
import Glibc
#endif
import Testing
import SockDiag
import SocketModel
import TestSupport

/// Filters compiled to bytecode and run by the real kernel select exactly the sockets the
/// filter describes (the unfiltered dump, filtered in Swift).
@Suite struct LiveFilterTests {
    static let mapped = IPAddress("::ffff:127.0.0.1")!

    static let filters: [SocketFilter] = [
        .localPort(FixedPopulation.listen4.port),
        .remotePort(FixedPopulation.listen4.port),
        .localAddress(IPAddress("127.0.0.2")!),
        .remoteAddress(.ipv4Loopback),
        .remoteAddress(.ipv6Loopback),
        .localAddress(mapped),
        .all([.localAddress(.ipv4Loopback), .localPort(FixedPopulation.listen4.port)]),
        .any([.localAddress(IPAddress("127.0.0.2")!), .remotePort(FixedPopulation.listen4.port), .localPort(5353)]),
        .all([.any([.localPort(8080), .localPort(8443)]), .any([.remotePort(40001), .remotePort(40005)])]),
        .any([]),
        .all([]),
    ]

    @Test func kernelFilteringMatchesTheFilterMeaning() throws {
        let ns = try NetworkNamespace()
        try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
        let outcome = try ns.run { () -> (all: [SocketRecord], filtered: [[SocketRecord]]) in
            let client = try SockDiagClient()
            let population = try FixedPopulation.make()
            // A dual-stack IPv6 socket talking IPv4: its addresses are IPv4-mapped.
            let dual = try TestSocket(.ipv6, .tcp)
            try dual.connect(SocketEndpoint(address: Self.mapped, port: FixedPopulation.listen4.port))
            let accepted = try population.listener4.accept()
            var all: [SocketRecord] = []
            _ = eventually(timeout: .seconds(2)) {
                all = try dumpEverything(client)
                return all.count == population.expected.count + 2
            }
            var filtered: [[SocketRecord]] = []
            for filter in Self.filters {
                var records: [SocketRecord] = []
                for var query in DumpQuery.everySocket {
                    query.filter = filter
                    try client.dump(query) { records.append($0) }
                }
                filtered.append(records)
            }
            withExtendedLifetime((population, dual, accepted)) {}
            return (all, filtered)
        }
        #expect(outcome.all.contains { $0.family == .ipv6 && $0.local.address.ipv4Mapped != nil }, "the mapped socket is there")
        for (filter, got) in zip(Self.filters, outcome.filtered) {
            let want = outcome.all.filter { reference(filter, $0.family, $0.local, $0.remote) }
            #expect(Set(got.map(SocketKey.init)) == Set(want.map(SocketKey.init)), "\(filter)")
            #expect(got.count == want.count, "\(filter)")
        }
        // The cases are not vacuous: most select something, and not everything.
        let sizes = outcome.filtered.map(\.count)
        #expect(sizes.filter { $0 > 0 && $0 < outcome.all.count }.count >= 8, "\(sizes)")
        #expect(sizes[Self.filters.count - 2] == 0)
        #expect(sizes[Self.filters.count - 1] == outcome.all.count)
    }
}
