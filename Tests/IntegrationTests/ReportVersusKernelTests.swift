import Testing
import TestSupport

extension EndToEnd {
    /// `portpressure report --format json` against ss for an independent population of about
    /// 10,000 sockets: every count in the JSON must equal what the kernel lists.
    @Suite struct ReportVersusKernel {
        /// About 10,900 sockets, built by socketlab (plain syscalls, no SOCK_DIAG) in order.
        static let recipes = [
            "listen:1:127.0.0.1:8080", "listen:1:127.0.0.2:8081", "listen:1:[::1]:8080",
            // Listeners inside the range: 25000 is reserved (not counted), 25001-25002 are bound ports.
            "listen:3:127.0.0.1:25000", "listen:1:[::1]:25010", "listen:1:0.0.0.0:9000",
            "tcp:2000:127.0.0.1:8080", "tcp:500:127.0.0.2:8081",
            "tcp-bind:400:127.0.0.1:8080", "tcp-bind-noport:400:127.0.0.2:8081",
            "tcp-timewait:500:127.0.0.1:8080",
            "tcp:1000:[::1]:8080", "tcp-timewait:100:[::1]:8080", "tcp-bind:100:[::1]:8080",
            "udp:500:127.0.0.1:53", "udp:300:[::1]:53", "udp:50:127.0.0.3:53",
            "udp-unconnected:200:0.0.0.0:0", "udp-unconnected:100:127.0.0.5:0", "udp-unconnected:100:[::]:0",
            "udp-dup:50:127.0.0.1:5353", "udp-dup:20:[::1]:5353",
        ]

        @Test func everyCountOfTheJSONReportEqualsTheKernelsTable() throws {
            let ns = try NetworkNamespace()
            try ns.setPortRange(low: 20000, high: 29999, reserved: "20100-20199,25000,29990-29999")
            // Loopback TIME_WAIT would otherwise be recycled after 1 s and vanish mid-test.
            try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
            let range = try KernelView.range(in: ns)
            #expect(range.low == 20000 && range.high == 29999 && range.reserved.count == 111)

            let lab = try ns.launch([BuiltProducts.path("socketlab")] + Self.recipes.flatMap { ["--make", $0] })
            defer { lab.stop() }
            let ready = try lab.waitForLine(startingWith: "READY", timeout: 120)
            #expect(ready.contains("tcp-timewait=600"), "\(ready)")

            // TCP sockets bound and never used: ss 6.1 cannot list them (see KernelView), so
            // the test makes them itself and knows their ports, inodes and cookies.
            let cgroup = try ownCgroupPath()
            let bound4 = try makeBoundOnlyTCPSockets(in: ns, address: "127.0.0.1", family: .ipv4, count: 30, cgroup: cgroup)
            let bound4b = try makeBoundOnlyTCPSockets(in: ns, address: "127.0.0.4", family: .ipv4, count: 20, cgroup: cgroup)
            let bound6 = try makeBoundOnlyTCPSockets(in: ns, address: "::1", family: .ipv6, count: 10, cgroup: cgroup)
            defer { withExtendedLifetime((bound4.sockets, bound4b.sockets, bound6.sockets)) {} }
            let boundOnly = bound4.entries + bound4b.entries + bound6.entries

            let (listed, report) = try KernelView.stable(in: ns) {
                try ns.spawn([BuiltProducts.path("portpressure"), "report", "--format", "json", "--top", "10000"])
            }
            #expect(report.status == 0, "\(report.stderr)")
            let document = try ReportDocument(json: report.stdout)
            let kernel = listed + boundOnly
            #expect(kernel.count > 10_000, "the population is smaller than asked: \(kernel.count)")
            let model = ReferenceModel(range: range, entries: kernel)

            // The population is what the recipes asked for (guards against a vacuous comparison).
            #expect(model.sockets[.init(proto: "tcp", family: "ipv4", state: "time_wait")] == 500)
            #expect(model.sockets[.init(proto: "tcp", family: "ipv6", state: "time_wait")] == 100)
            // 70 udp-dup pairs: 140 sockets in duplicate tuples. (Two pairs can land on one
            // tuple: socketlab binds a pair's first socket with SO_REUSEADDR already set, so
            // the kernel may pick a port another pair holds. The counts below stay exact.)
            #expect(model.duplicates.values.map(\.count).reduce(0, +) == 140)

            // ephemeral: from /proc/sys, parsed here.
            #expect(document.ephemeral.low == range.low)
            #expect(document.ephemeral.high == range.high)
            #expect(document.ephemeral.reserved == range.reserved.count)
            #expect(document.ephemeral.limit == range.limit)

            // sockets by protocol, family and state: all 28 combinations, nothing else.
            #expect(document.socketRows == 28)
            #expect(document.sockets == model.sockets)
            // The part ss cannot show, on its own: exactly the bound-only sockets made above.
            #expect(document.sockets[.init(proto: "tcp", family: "ipv4", state: "bound_inactive")] == 50)
            #expect(document.sockets[.init(proto: "tcp", family: "ipv6", state: "bound_inactive")] == 10)

            #expect(document.protocols == model.protocols)
            #expect(document.sources == model.sources)
            #expect(document.sources[.init(proto: "tcp", family: "ipv4", address: "127.0.0.4")]
                    == .init(portsUsed: 20, sockets: 20, boundPorts: 20, destinations: 0, destinationPortsMax: 0))
            #expect(document.destinations == model.destinations)
            #expect(document.destinationsTotal == model.destinations.count)
            #expect(document.owners == model.owners)
            #expect(document.ownersTotal == model.owners.count)

            // Duplicate UDP 4-tuples: the same tuples and sockets (uid, inode, cookie) as ss;
            // the receiver each claims is the one a datagram sent to the tuple reaches.
            #expect(document.duplicates == model.duplicates)
            let observed = try observeUDPReceivers(in: ns, tuples: Array(model.duplicates.keys))
            #expect(observed.values.allSatisfy { $0 != nil }, "a datagram reached no socket of its tuple")
            #expect(document.receivers == observed)
            let totals = model.duplicateTotals(receivers: observed)
            for family in ["ipv4", "ipv6"] {
                let got = document.duplicateTotals[family], want = totals[family]
                #expect(got?.tuples == want?.tuples && got?.sockets == want?.sockets && got?.overshadowed == want?.overshadowed,
                        "\(family): report \(String(describing: got)), kernel \(String(describing: want))")
            }
            for family in ["ipv4", "ipv6"] {
                #expect(totals[family]!.overshadowed == totals[family]!.sockets - totals[family]!.tuples)
            }
        }
    }
}
