#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// `portpressure serve` in a namespace, scraped over real HTTP connections.
    @Suite struct Serve {
        static let collectors = ["range", "sockets", "udp", "kernel"]

        /// The exact-value population: a narrowed range with reserved ports, TIME_WAIT,
        /// duplicate UDP tuples, IPv6, and 16 destinations from 127.0.0.1 with distinct
        /// port counts so the top-10 cut is unambiguous.
        static var recipes: [String] {
            var recipes = [
                "listen:1:127.0.0.1:8080", "listen:1:[::1]:8080", "listen:15:127.0.0.2:9000",
                "tcp:100:127.0.0.1:8080", "tcp-timewait:30:127.0.0.1:8080", "tcp-bind:20:127.0.0.1:8080",
                "tcp:20:[::1]:8080", "udp:10:127.0.0.1:53", "udp-unconnected:5:0.0.0.0:0",
                "udp-dup:3:127.0.0.1:5353", "udp-dup:2:[::1]:5353",
            ]
            for i in 0..<15 { recipes.append("tcp:\(i + 1):127.0.0.2:\(9000 + i)") }
            return recipes
        }

        @Test func metricsEqualTheKernelsTable() throws {
            let ns = try NetworkNamespace()
            try ns.setPortRange(low: 30000, high: 30999, reserved: "30000-30009,30500")
            try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
            let range = try KernelView.range(in: ns)
            let lab = try ns.launch([BuiltProducts.path("socketlab")] + Self.recipes.flatMap { ["--make", $0] })
            defer { lab.stop() }
            _ = try lab.waitForLine(startingWith: "READY", timeout: 60)
            let bound = try makeBoundOnlyTCPSockets(in: ns, address: "127.0.0.1", family: .ipv4, count: 5, cgroup: try ownCgroupPath())
            defer { withExtendedLifetime(bound.sockets) {} }

            let serve = try ServeProcess.start(in: ns, port: 9100)
            defer { serve.process.stop() }
            // The scrape's own connection, from a port outside the range (7001): two
            // established sockets that exist only while the scrape runs.
            let (listed, reply) = try KernelView.stable(in: ns) {
                try ns.run { try HTTPClient(port: 9100, timeoutSeconds: 30, localPort: 7001).request("GET", "/metrics") }
            }
            #expect(reply.status == 200)
            #expect(reply.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
            let scrapeConnection = [
                SocketTableEntry(proto: .tcp, family: .ipv4, state: "established", receiveQueue: 0, localAddress: "127.0.0.1", localPort: 7001,
                                 remoteAddress: "127.0.0.1", remotePort: 9100, uid: 0, inode: 1, cookie: nil, cgroup: "/"),
                SocketTableEntry(proto: .tcp, family: .ipv4, state: "established", receiveQueue: 0, localAddress: "127.0.0.1", localPort: 9100,
                                 remoteAddress: "127.0.0.1", remotePort: 7001, uid: 0, inode: 1, cookie: nil, cgroup: "/"),
            ]
            let model = ReferenceModel(range: range, entries: listed + bound.entries + scrapeConnection)
            // Every namespace-scoped sample carries the namespace's inode as `netns`.
            let scrape = try Exposition(reply.text).scoped(to: String(try ns.inode))
            #expect(model.sockets[.init(proto: "tcp", family: "ipv4", state: "time_wait")] == 30)

            // Range.
            #expect(scrape.value("portpressure_ephemeral_port_range_low") == Double(range.low))
            #expect(scrape.value("portpressure_ephemeral_port_range_high") == Double(range.high))
            #expect(scrape.value("portpressure_ephemeral_ports_reserved") == 11)
            #expect(scrape.value("portpressure_ephemeral_ports_limit") == Double(range.limit))

            // Sockets by state: every combination, as the kernel lists them.
            var states: [[String: String]: Double] = [:]
            for (key, count) in model.sockets { states[["proto": key.proto, "family": key.family, "state": key.state]] = Double(count) }
            #expect(scrape.series("portpressure_sockets") == states)

            // Per local address.
            func perSource(_ value: (ReferenceModel.SourceFacts) -> Int) -> [[String: String]: Double] {
                var out: [[String: String]: Double] = [:]
                for (key, facts) in model.sources {
                    out[["proto": key.proto, "family": key.family, "local_address": key.address]] = Double(value(facts))
                }
                return out
            }
            #expect(scrape.series("portpressure_ephemeral_ports_used") == perSource(\.portsUsed))
            #expect(scrape.series("portpressure_ephemeral_port_sockets") == perSource(\.sockets))
            #expect(scrape.series("portpressure_bound_ephemeral_ports") == perSource(\.boundPorts))
            #expect(scrape.series("portpressure_destination_ephemeral_ports_max") == perSource(\.destinationPortsMax))
            #expect(scrape.series("portpressure_destinations") == perSource(\.destinations))
            #expect(scrape.value("portpressure_destinations", ["proto": "tcp", "family": "ipv4", "local_address": "127.0.0.1"]) == 16)

            // Top 10 destinations per local address (the default): exactly the 10 busiest.
            var expectedTop: [[String: String]: Double] = [:]
            let bySource = Dictionary(grouping: model.destinations) { "\($0.key.proto)|\($0.key.local)" }
            for (_, destinations) in bySource {
                let ranked = destinations.sorted { $0.value.portsUsed > $1.value.portsUsed }
                if ranked.count > 10 { try #require(ranked[9].value.portsUsed > ranked[10].value.portsUsed, "ambiguous cut") }
                for (key, count) in ranked.prefix(10) {
                    expectedTop[["proto": key.proto, "family": key.family, "local_address": key.local,
                                 "remote_address": key.remote, "remote_port": String(key.remotePort)]] = Double(count.portsUsed)
                }
            }
            #expect(scrape.series("portpressure_destination_ephemeral_ports_used") == expectedTop)

            // Duplicate UDP tuples: totals from ss, receivers proven by datagrams.
            let receivers = try observeUDPReceivers(in: ns, tuples: Array(model.duplicates.keys))
            let totals = model.duplicateTotals(receivers: receivers)
            #expect(scrape.series("portpressure_udp_duplicate_tuples")
                    == [["family": "ipv4"]: Double(totals["ipv4"]!.tuples), ["family": "ipv6"]: Double(totals["ipv6"]!.tuples)])
            #expect(scrape.series("portpressure_udp_overshadowed_sockets")
                    == [["family": "ipv4"]: Double(totals["ipv4"]!.overshadowed), ["family": "ipv6"]: Double(totals["ipv6"]!.overshadowed)])
            #expect(totals["ipv4"]!.sockets == 6 && totals["ipv6"]!.sockets == 4)
            var tupleSockets: [[String: String]: Double] = [:]
            for (tuple, members) in model.duplicates {
                tupleSockets[["family": tuple.family, "local_address": tuple.local, "local_port": String(tuple.localPort),
                              "remote_address": tuple.remote, "remote_port": String(tuple.remotePort)]] = Double(members.count)
            }
            #expect(scrape.series("portpressure_udp_duplicate_tuple_sockets") == tupleSockets)

            // Owners (fewer than the top 10, so all of them).
            var owners: [[String: String]: Double] = [:]
            for (key, count) in model.owners {
                owners[["proto": key.proto, "uid": key.uid.map(String.init) ?? "", "cgroup": key.cgroup]] = Double(count.portsUsed)
            }
            #expect(owners.count <= 10)
            #expect(scrape.series("portpressure_owner_ephemeral_ports_used") == owners)

            // Kernel settings, read here from /proc/sys of the namespace: one gauge each, unit in the name.
            let settings = ["net.ipv4.tcp_tw_reuse": "portpressure_kernel_tcp_tw_reuse",
                            "net.ipv4.ip_autobind_reuse": "portpressure_kernel_ip_autobind_reuse",
                            "net.ipv4.tcp_max_tw_buckets": "portpressure_kernel_tcp_max_tw_buckets",
                            "net.ipv4.tcp_fin_timeout": "portpressure_kernel_tcp_fin_timeout_seconds"]
            for (sysctl, metric) in settings {
                let expected = (try? ns.readSysctl(sysctl)).flatMap { Double($0) }
                #expect(expected != nil, "\(sysctl) readable")
                #expect(scrape.series(metric) == [[:]: expected!], "\(metric)")
            }
            #expect(scrape.value("portpressure_kernel_tcp_tw_reuse") == 0)
            #expect(scrape.series("portpressure_kernel_setting").isEmpty, "the old family is gone")

            // The scrape's own metrics.
            for collector in Self.collectors {
                #expect(scrape.value("portpressure_scrape_collector_success", ["collector": collector]) == 1)
                #expect((scrape.value("portpressure_scrape_collector_duration_seconds", ["collector": collector]) ?? -1) >= 0)
            }
            #expect(scrape.value("portpressure_sock_diag_dump_retries_total") == 0)
            let build = scrape.samples.filter { $0.name == "portpressure_build_info" }
            #expect(build.count == 1 && build.first?.value == 1 && Set(build.first.map { Array($0.labels.keys) } ?? []) == ["version", "revision", "branch", "build_date", "swift_version"])
            #expect((scrape.value("process_open_fds") ?? 0) > 0)
            #expect((scrape.value("process_resident_memory_bytes") ?? 0) > 1_000_000)
            #expect((scrape.value("process_max_fds") ?? 0) > 0)
            #expect((scrape.value("process_start_time_seconds") ?? 0) > 1_600_000_000)
            #expect(scrape.types["process_cpu_seconds_total"] == "counter")

            // Every sample belongs to a family with HELP and TYPE.
            for sample in scrape.samples {
                #expect(scrape.help[sample.name] != nil && scrape.types[sample.name] != nil, "\(sample.name) without HELP/TYPE")
            }
            #expect(Set(scrape.samples.map { "\($0.name)\($0.labels.sorted { $0.key < $1.key })" }).count == scrape.samples.count,
                    "a series appears twice")
        }

        @Test func negotiationAndStatusCodes() throws {
            let ns = try NetworkNamespace()
            let lab = try ns.launch([BuiltProducts.path("socketlab"), "--make", "listen:1:127.0.0.1:8080", "--make", "tcp:50:127.0.0.1:8080",
                                     "--make", "udp-dup:2:127.0.0.1:5353"])
            defer { lab.stop() }
            _ = try lab.waitForLine(startingWith: "READY")
            let serve = try ServeProcess.start(in: ns, port: 9101)
            defer { serve.process.stop() }
            func get(_ target: String, method: String = "GET", _ headers: [(String, String)] = []) throws -> HTTPReply {
                try ns.run { try HTTPClient(port: 9101, timeoutSeconds: 30).request(method, target, headers: headers) }
            }

            let plain = try get("/metrics")
            #expect(plain.status == 200 && plain.header("content-encoding") == nil)
            let plainScrape = try Exposition(plain.text)
            #expect(!plainScrape.endsWithEOF)
            let families = Set(plainScrape.types.keys)
            #expect(families.contains("portpressure_udp_duplicate_tuples"))

            // gzip when Accept-Encoding allows it; the body inflates to the same families.
            let zipped = try get("/metrics", [("Accept-Encoding", "gzip")])
            #expect(zipped.status == 200 && zipped.header("content-encoding") == "gzip")
            #expect(zipped.body.starts(with: [0x1f, 0x8b]))
            let inflated = String(decoding: try gunzip(zipped.body), as: UTF8.self)
            #expect(Set(try Exposition(inflated).types.keys) == families)
            #expect(try get("/metrics", [("Accept-Encoding", "gzip;q=0, identity")]).header("content-encoding") == nil)

            // OpenMetrics when Accept prefers it.
            let open = try get("/metrics", [("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")])
            #expect(open.status == 200)
            #expect(open.header("content-type")?.hasPrefix("application/openmetrics-text; version=1.0.0") == true)
            let openScrape = try Exposition(open.text).scoped(to: String(try ns.inode))
            #expect(openScrape.endsWithEOF && open.text.hasSuffix("# EOF\n"))
            #expect(openScrape.value("portpressure_udp_duplicate_tuples", ["family": "ipv4"]) == 2)
            #expect(openScrape.types["portpressure_sock_diag_dump_retries"] == "counter")
            #expect(openScrape.samples.contains { $0.name == "portpressure_sock_diag_dump_retries_total" })
            let textPreferred = try get("/metrics", [("Accept", "text/plain;version=0.0.4,application/openmetrics-text;q=0.1")])
            #expect(textPreferred.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let openZipped = try get("/metrics", [("Accept", "application/openmetrics-text"), ("Accept-Encoding", "gzip")])
            #expect(openZipped.header("content-encoding") == "gzip")
            let openInflated = String(decoding: try gunzip(openZipped.body), as: UTF8.self)
            #expect(openInflated.hasSuffix("# EOF\n"))

            // HEAD: headers only.
            let head = try get("/metrics", method: "HEAD")
            #expect(head.status == 200 && head.body.isEmpty && Int(head.header("content-length") ?? "") ?? 0 > 1000)

            // collect[] / exclude[].
            let onlyRange = try Exposition(try get("/metrics?collect[]=range").text).scoped(to: String(try ns.inode))
            #expect(onlyRange.value("portpressure_ephemeral_ports_limit") != nil)
            #expect(onlyRange.series("portpressure_sockets").isEmpty)
            #expect(onlyRange.series("portpressure_scrape_collector_success") == [["collector": "range"]: 1])
            let withoutUDP = try Exposition(try get("/metrics?exclude[]=udp&exclude[]=kernel").text)
            #expect(withoutUDP.series("portpressure_udp_duplicate_tuples").isEmpty && !withoutUDP.series("portpressure_sockets").isEmpty)
            #expect(Set(withoutUDP.series("portpressure_scrape_collector_success").keys) == [["collector": "range"], ["collector": "sockets"]])
            let bad = try get("/metrics?collect[]=nope")
            #expect(bad.status == 400 && bad.text.contains("nope"))

            // Other paths and methods.
            #expect(try get("/nope").status == 404)
            let post = try get("/metrics", method: "POST")
            #expect(post.status == 405 && post.header("allow")?.contains("GET") == true)
            #expect(try get("/", method: "DELETE").status == 405)
            let landing = try get("/")
            #expect(landing.status == 200 && landing.header("content-type")?.hasPrefix("text/html") == true && landing.text.contains("/metrics"))
            #expect(try get("/-/healthy").status == 200)
            #expect(try get("/-/ready").status == 200, "every collector has succeeded by now")
        }

        @Test func silentAndOversizedClientsDoNotStopScrapes() throws {
            let ns = try NetworkNamespace()
            let serve = try ServeProcess.start(in: ns, port: 9102)
            defer { serve.process.stop() }
            // Clients that connect and send nothing, or half a request, and stay.
            let idle: [TestSocket] = try ns.run {
                var sockets: [TestSocket] = []
                for i in 0..<8 {
                    let socket = try TestSocket(.ipv4, .tcp)
                    try socket.connect(.at("127.0.0.1", 9102))
                    if i % 2 == 1 { try socket.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8)) }
                    sockets.append(socket)
                }
                return sockets
            }
            defer { withExtendedLifetime(idle) {} }
            // A header far over the server's memory limit is refused…
            let huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: \(String(repeating: "a", count: 256 * 1024))\r\nConnection: close\r\n\r\n"
            let refused = try ns.run { try HTTPClient(port: 9102, timeoutSeconds: 10).exchange(Array(huge.utf8)) }
            if !refused.isEmpty {
                let reply = try HTTPReply(parsing: refused)
                #expect([400, 413, 431].contains(reply.status), "oversized header answered \(reply.status)")
            }
            // …and while all that is open, scrapes are answered at once (well inside the
            // server's 10 s idle timeout: the silent clients are not waited for).
            for _ in 0..<3 {
                let started = ContinuousClock.now
                let reply = try ns.run { try HTTPClient(port: 9102, timeoutSeconds: 5).request("GET", "/metrics") }
                #expect(reply.status == 200 && reply.text.contains("portpressure_sockets{"))
                #expect(ContinuousClock.now - started < .seconds(5))
            }
            #expect(serve.process.isRunning)
        }

        @Test func aScrapeDuringHeavySocketChurnSucceeds() throws {
            let ns = try NetworkNamespace()
            let serve = try ServeProcess.start(in: ns, port: 9103)
            defer { serve.process.stop() }
            // Bounded churn: at most 200 rounds of ~900 sockets made and closed at once.
            let lab = BuiltProducts.path("socketlab")
            let churn = try ns.launch(["sh", "-c", """
                i=0; while [ $i -lt 200 ]; do
                  "\(lab)" --hold 0 --make listen:1:127.0.0.1:$((20000 + i)) --make tcp:300:127.0.0.1:$((20000 + i)) \
                    --make tcp-timewait:100:127.0.0.1:$((20000 + i)) --make udp:200:127.0.0.1:53 > /dev/null || exit 1
                  if [ $i -eq 0 ]; then echo churning; fi
                  i=$((i + 1))
                done
                """])
            defer { churn.stop() }
            // The first round is done: the scrapes below overlap the churn from their start.
            _ = try churn.waitForLine(startingWith: "churning")
            var during = 0
            var totals: Set<Double> = []
            for _ in 0..<15 {
                guard churn.isRunning else { break }
                let reply = try ns.run { try HTTPClient(port: 9103, timeoutSeconds: 20).request("GET", "/metrics") }
                #expect(reply.status == 200)
                let scrape = try Exposition(reply.text)
                #expect(scrape.value("portpressure_scrape_collector_success", ["collector": "sockets"]) == 1)
                let total = scrape.series("portpressure_sockets").values.reduce(0, +)
                #expect(total > 0)
                totals.insert(total)
                if churn.isRunning { during += 1 }
            }
            #expect(during >= 3, "the churn ended before the scrapes overlapped it (\(during)); stderr: \(churn.stderr)")
            #expect(totals.count >= 2, "the scrapes saw no churn: socket totals \(totals)")
            #expect(serve.process.isRunning)
        }

        @Test func promtoolFindsNothingToFixInALiveScrape() throws {
            let ns = try NetworkNamespace()
            try ns.setPortRange(low: 40000, high: 40999, reserved: "40100-40110")
            let lab = try ns.launch([BuiltProducts.path("socketlab"), "--make", "listen:1:127.0.0.1:8080", "--make", "tcp:30:127.0.0.1:8080",
                                     "--make", "udp-dup:2:127.0.0.1:5353", "--make", "udp:5:[::1]:53"])
            defer { lab.stop() }
            _ = try lab.waitForLine(startingWith: "READY")
            let serve = try ServeProcess.start(in: ns, port: 9104)
            defer { serve.process.stop() }
            let reply = try ns.run { try HTTPClient(port: 9104, timeoutSeconds: 30).request("GET", "/metrics") }
            #expect(reply.status == 200)
            let check = try Tool.run(["promtool", "check", "metrics"], input: reply.text)
            #expect(check.status == 0, "promtool: \(check.stdout)\(check.stderr)")
            #expect(check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout)\(check.stderr)")
        }

        @Test func sigtermStopsItWithExitZero() throws {
            let ns = try NetworkNamespace()
            let serve = try ServeProcess.start(in: ns, port: 9105)
            #expect(try ns.run { try HTTPClient(port: 9105, timeoutSeconds: 30).request("GET", "/metrics") }.status == 200)
            serve.process.signal(SIGTERM)
            #expect(serve.process.waitForExit(timeout: .seconds(10)) == .exited(0))
            // Its last words arrive through the pipe, which ends when it exited.
            #expect(serve.process.waitForOutput(.stderr, timeout: .seconds(5)) { $0.contains("stopped") }, "\(serve.process.stderr)")
            // Nothing listens any more.
            #expect(throws: (any Error).self) { try ns.run { try HTTPClient(port: 9105, timeoutSeconds: 2).request("GET", "/-/healthy") } }
        }

        @Test func anAddressInUseExitsOneWithAClearMessage() throws {
            let ns = try NetworkNamespace()
            let holder = try ns.run {
                let socket = try TestSocket(.ipv4, .tcp)
                try socket.bind(.at("127.0.0.1", 9106))
                try socket.listen()
                return socket
            }
            defer { withExtendedLifetime(holder) {} }
            let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve", "--web.listen-address", "127.0.0.1:9106"])
            #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("127.0.0.1:9106") && result.stderr.contains("Address already in use"), "\(result.stderr)")

            // A second, free address in the same command: nothing is left serving.
            let both = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve",
                                     "--web.listen-address", "127.0.0.1:9107", "--web.listen-address", "127.0.0.1:9106"])
            #expect(both.status == 1, "exit \(both.status): \(both.stderr)")

            // An address no interface has: refused at start, exit 1.
            let foreign = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve", "--web.listen-address", "192.0.2.1:9108"])
            #expect(foreign.status == 1, "exit \(foreign.status): \(foreign.stderr)")
            #expect(foreign.stderr.contains("192.0.2.1:9108"), "\(foreign.stderr)")
        }
    }
}
