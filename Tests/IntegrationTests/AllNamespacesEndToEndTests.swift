#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// `serve --collector.netns` and `report --all-namespaces` against real namespaces.
    @Suite struct AllNamespaces {
        struct Plan {
            var named: Bool
            var low: Int, high: Int
            var reserved: String = ""
            var recipes: [String] = []
        }

        /// Twelve namespaces: one at >= 95% of its range toward one destination, one with
        /// duplicate UDP 4-tuples, one IPv6-only, one with reserved ports inside its range, one
        /// mixed, and seven nearly empty (named and anonymous), each with its own range.
        static let plans: [Plan] = [
            Plan(named: false, low: 40000, high: 40099, reserved: "40090-40099",
                 recipes: ["listen:1:127.0.0.1:8080", "tcp:86:127.0.0.1:8080"]),
            Plan(named: false, low: 35000, high: 35049,
                 recipes: ["udp-dup:3:127.0.0.1:5353", "udp-dup:2:[::1]:5353", "udp:4:127.0.0.1:53"]),
            Plan(named: false, low: 45000, high: 45199,
                 recipes: ["listen:1:[::1]:8080", "tcp:30:[::1]:8080", "udp:3:[::1]:53"]),
            Plan(named: true, low: 20000, high: 20999, reserved: "20100-20199,20500",
                 recipes: ["listen:1:127.0.0.1:9000", "tcp:150:127.0.0.1:9000"]),
            Plan(named: false, low: 50000, high: 50199, reserved: "50000-50009",
                 recipes: ["listen:1:127.0.0.1:8080", "tcp:12:127.0.0.1:8080", "udp-unconnected:5:0.0.0.0:0"]),
            Plan(named: true, low: 30000, high: 30999),
            Plan(named: true, low: 31000, high: 31499, reserved: "31000-31009"),
            Plan(named: true, low: 32768, high: 60999, recipes: ["udp:1:127.0.0.1:53"]),
            Plan(named: true, low: 60000, high: 60999),
            Plan(named: false, low: 33000, high: 33999),
            Plan(named: false, low: 34000, high: 34099, reserved: "34000", recipes: ["listen:1:127.0.0.1:80"]),
            Plan(named: false, low: 32768, high: 60999),
        ]

        static func make(_ plans: [Plan]) throws -> [TestNamespace] {
            var made: [TestNamespace] = []
            do {
                for plan in plans {
                    let namespace = try TestNamespace(named: plan.named)
                    made.append(namespace)
                    try namespace.setRange(low: plan.low, high: plan.high, reserved: plan.reserved)
                    try namespace.sysctl("net.ipv4.tcp_tw_reuse", "0")
                    try namespace.populate(plan.recipes)
                }
            } catch {
                for namespace in made { namespace.close() }
                throw error
            }
            return made
        }

        /// The cost rule, recomputed here from ss's counts: exact when the sockets exceed 10%
        /// of the limit (in integers), else the bound sockets / limit.
        static func expectedExact(sockets: Int, limit: Int) -> Bool { limit == 0 || sockets > limit * 10 / 100 }

        @Test func everyExactFigureEqualsSSInsideItsNamespace() throws {
            let namespaces = try Self.make(Self.plans)
            defer { for namespace in namespaces { namespace.close() } }
            let home = try NetworkNamespace()
            let serve = try ServeProcess.start(in: home, port: 9110, extra: ["--collector.netns"])
            defer { serve.process.stop() }

            // ss in every namespace before and after the scrape: the population must not move.
            var captured: [[SocketTableEntry]] = []
            var scrape: Exposition?
            for _ in 0..<3 {
                let before = try namespaces.map { try $0.sockets() }
                let reply = try home.run { try HTTPClient(port: 9110, timeoutSeconds: 60).request("GET", "/metrics") }
                #expect(reply.status == 200)
                let after = try namespaces.map { try $0.sockets() }
                if before.map({ $0.map(\.identity).sorted() }) == after.map({ $0.map(\.identity).sorted() }) {
                    captured = before
                    scrape = try Exposition(reply.text)
                    break
                }
            }
            let all = try #require(scrape, "the populations kept changing")
            #expect(all.value("portpressure_scrape_collector_success", ["collector": "netns"]) == 1)
            #expect((all.value("portpressure_netns_namespaces") ?? 0) >= Double(namespaces.count + 2))  // + host + home

            var hotPressure = 0.0
            for (index, namespace) in namespaces.enumerated() {
                let netns = try namespace.netns
                let plan = Self.plans[index]
                let entries = captured[index]
                let range = try namespace.range()
                let model = ReferenceModel(range: range, entries: entries)
                let scrape = all.namespace(netns)
                let label = "namespace \(index) (\(netns), \(namespace.name.isEmpty ? "anonymous" : namespace.name))"

                // Identity: the inode, the ip netns name (empty for an anonymous one).
                let info = scrape.series("portpressure_netns_info")
                #expect(info.count == 1, "\(label): info \(info)")
                #expect(info.keys.first?["name"] == namespace.name, "\(label)")
                #expect(range.low == plan.low && range.high == plan.high)
                #expect(scrape.value("portpressure_ephemeral_port_range_low") == Double(range.low), "\(label)")
                #expect(scrape.value("portpressure_ephemeral_port_range_high") == Double(range.high), "\(label)")
                #expect(scrape.value("portpressure_ephemeral_ports_reserved") == Double(range.reserved.count), "\(label)")
                #expect(scrape.value("portpressure_ephemeral_ports_limit") == Double(range.limit), "\(label)")

                for proto in ["tcp", "udp"] {
                    let sockets = entries.filter { $0.proto.rawValue == proto }.count
                    let exact = Self.expectedExact(sockets: sockets, limit: range.limit)
                    let protoLabels = ["proto": proto]
                    #expect(scrape.value("portpressure_netns_sockets", protoLabels) == Double(sockets), "\(label) \(proto)")
                    #expect(scrape.value("portpressure_netns_figures_exact", protoLabels) == (exact ? 1 : 0), "\(label) \(proto)")
                    func only(_ name: String) -> [[String: String]: Double] { scrape.series(name).filter { $0.key["proto"] == proto } }
                    if !exact {
                        #expect(scrape.value("portpressure_netns_pressure_bound_ratio", protoLabels) == Double(sockets) / Double(range.limit),
                                "\(label) \(proto)")
                        #expect(only("portpressure_sockets").isEmpty && only("portpressure_ephemeral_ports_used").isEmpty,
                                "\(label): \(proto) was not dumped, so none of its series")
                        continue
                    }
                    #expect(scrape.value("portpressure_netns_pressure_bound_ratio", protoLabels) == nil)
                    // Exact: every figure equals ss's.
                    var states: [[String: String]: Double] = [:]
                    for (key, count) in model.sockets where key.proto == proto {
                        states[["proto": key.proto, "family": key.family, "state": key.state]] = Double(count)
                    }
                    #expect(only("portpressure_sockets") == states, "\(label) \(proto)")
                    func perSource(_ value: (ReferenceModel.SourceFacts) -> Int) -> [[String: String]: Double] {
                        var out: [[String: String]: Double] = [:]
                        for (key, facts) in model.sources where key.proto == proto {
                            out[["proto": key.proto, "family": key.family, "local_address": key.address]] = Double(value(facts))
                        }
                        return out
                    }
                    #expect(only("portpressure_ephemeral_ports_used") == perSource(\.portsUsed), "\(label) \(proto)")
                    #expect(only("portpressure_ephemeral_port_sockets") == perSource(\.sockets), "\(label) \(proto)")
                    #expect(only("portpressure_bound_ephemeral_ports") == perSource(\.boundPorts), "\(label) \(proto)")
                    #expect(only("portpressure_destination_ephemeral_ports_max") == perSource(\.destinationPortsMax), "\(label) \(proto)")
                    #expect(only("portpressure_destinations") == perSource(\.destinations), "\(label) \(proto)")
                    var destinations: [[String: String]: Double] = [:]
                    for (key, count) in model.destinations where key.proto == proto {
                        destinations[["proto": key.proto, "family": key.family, "local_address": key.local,
                                      "remote_address": key.remote, "remote_port": String(key.remotePort)]] = Double(count.portsUsed)
                    }
                    #expect(destinations.count <= 10)
                    #expect(only("portpressure_destination_ephemeral_ports_used") == destinations, "\(label) \(proto)")
                    let most = model.sources.filter { $0.key.proto == proto }.map(\.value.destinationPortsMax).max() ?? 0
                    #expect(scrape.value("portpressure_netns_pressure_ratio", protoLabels) == Double(most) / Double(range.limit), "\(label) \(proto)")
                    if proto == "tcp" && index == 0 { hotPressure = Double(most) / Double(range.limit) }
                    if proto == "udp" {
                        var tuples: [[String: String]: Double] = [:]
                        var perFamily: [String: Int] = ["ipv4": 0, "ipv6": 0]
                        for (tuple, members) in model.duplicates {
                            tuples[["family": tuple.family, "local_address": tuple.local, "local_port": String(tuple.localPort),
                                    "remote_address": tuple.remote, "remote_port": String(tuple.remotePort)]] = Double(members.count)
                            perFamily[tuple.family, default: 0] += 1
                        }
                        #expect(scrape.series("portpressure_udp_duplicate_tuple_sockets") == tuples, "\(label)")
                        #expect(scrape.series("portpressure_udp_duplicate_tuples")
                                == [["family": "ipv4"]: Double(perFamily["ipv4"]!), ["family": "ipv6"]: Double(perFamily["ipv6"]!)], "\(label)")
                    }
                }
            }
            // The planned facts: the hot namespace at >= 95% from plain connect(), the UDP one
            // with 3 + 2 duplicate tuples, the IPv6-only one without any IPv4 socket.
            #expect(hotPressure >= 0.95)
            #expect(all.namespace(try namespaces[1].netns).series("portpressure_udp_duplicate_tuples").values.reduce(0, +) == 5)
            #expect(captured[2].allSatisfy { $0.family == .ipv6 } && !captured[2].isEmpty)

            // The landing page lists the namespaces, named ones by name.
            let page = try home.run { try HTTPClient(port: 9110, timeoutSeconds: 60).request("GET", "/") }
            #expect(page.status == 200 && page.text.contains("<h2>Network namespaces</h2>"))
            #expect(page.text.contains(try namespaces[0].netns), "the hottest test namespace is in the top 10")

            // --collector.netns.max 3: three namespaces in full, the highest pressure first; the
            // number of all of them still exported.
            let capped = try ServeProcess.start(in: home, port: 9113, extra: ["--collector.netns", "--collector.netns.max", "3"])
            defer { capped.process.stop() }
            let top = try Exposition(try home.run { try HTTPClient(port: 9113, timeoutSeconds: 60).request("GET", "/metrics") }.text)
            let exported = Set(top.series("portpressure_netns_info").keys.compactMap { $0["netns"] })
            #expect(exported.count == 3 && top.value("portpressure_netns_exported_namespaces") == 3)
            #expect((top.value("portpressure_netns_namespaces") ?? 0) >= Double(namespaces.count + 2))
            #expect(top.samples.allSatisfy { $0.labels["netns"].map(exported.contains) ?? true }, "only the exported namespaces' series")
            let lowestKept = exported.compactMap { top.value("portpressure_netns_pressure_ratio", ["netns": $0, "proto": "tcp"]) }.min() ?? 0
            // The hot namespace is kept, unless three others (other tests' namespaces) are hotter still.
            let hotNetns = try namespaces[0].netns
            #expect(exported.contains(hotNetns) || lowestKept >= hotPressure, "the hot namespace is among the top 3")

            // report --all-namespaces: one object per namespace, keyed by inode, ranked.
            let report = try home.spawn([BuiltProducts.path("portpressure"), "report", "--all-namespaces", "--format", "json"])
            #expect(report.status == 0, "\(report.stderr)")
            let root = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
            let objects = try #require(root["namespaces"] as? [[String: Any]])
            let byInode = Dictionary(objects.compactMap { object in (object["netns"] as? Int).map { ($0, object) } }, uniquingKeysWith: { a, _ in a })
            var positions: [Int] = []
            for (index, namespace) in namespaces.enumerated() {
                let object = try #require(byInode[Int(try namespace.inode)], "namespace \(index) missing from the report")
                #expect(object["name"] as? String == namespace.name)
                #expect(object.keys.contains("pod_uid") && object.keys.contains("container_id"))
                let tcp = try #require(object["tcp"] as? [String: Any])
                let sockets = captured[index].filter { $0.proto == .tcp }.count
                #expect(tcp["exact"] as? Bool == Self.expectedExact(sockets: sockets, limit: try namespace.range().limit))
                positions.append(objects.firstIndex { ($0["netns"] as? Int) == Int(try! namespace.inode) }!)
            }
            // The hot namespace ranks above every other test namespace.
            #expect(positions[0] == positions.min())
            let hot = try ReportDocument(json: String(decoding: try JSONSerialization.data(withJSONObject: byInode[Int(try namespaces[0].inode)]!), as: UTF8.self))
            #expect(hot.sources.values.map(\.destinationPortsMax).max() == 86)

            let table = try home.spawn([BuiltProducts.path("portpressure"), "report", "--all-namespaces", "--color", "never"])
            #expect(table.status == 0)
            for namespace in namespaces where !namespace.name.isEmpty { #expect(table.stdout.contains(namespace.name)) }

            // report --netns NAME: that namespace's full report.
            let one = try home.spawn([BuiltProducts.path("portpressure"), "report", "--netns", namespaces[3].name, "--format", "json"])
            #expect(one.status == 0, "\(one.stderr)")
            let document = try ReportDocument(json: one.stdout)
            #expect(document.ephemeral.limit == 899)
            #expect(document.sources.values.map(\.destinationPortsMax).max() == 150)
            let byPID = try home.spawn([BuiltProducts.path("portpressure"), "report", "--netns", "999999999"])
            #expect(byPID.status != 0 && byPID.stderr.contains("not a network namespace"))
        }

        /// The serve process's descriptors: all of them, the kept namespace files
        /// (`/proc/sys/...`, `/proc/<tid>/net/sockstat*`), sockets, and the handles (one
        /// `ip_local_port_range` file each).
        struct Descriptors: Equatable {
            /// `sockets` leaves out TCP connections (HTTP clients being served, whose
            /// descriptors the server closes a moment after the reply is read): the invariant is
            /// about the listening and SOCK_DIAG sockets.
            var total = 0, namespaceFiles = 0, sockets = 0, handles = 0, connections = 0
            var others: Int { total - namespaceFiles - sockets - connections }

            init(pid: pid_t) throws {
                let connected = Self.connectedTCPInodes(pid: pid)
                for name in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") {
                    guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(name)") else { continue }
                    total += 1
                    if target.hasPrefix("socket:") {
                        if connected.contains(String(target.dropFirst("socket:[".count).dropLast())) { connections += 1 } else { sockets += 1 }
                    }
                    if target.hasPrefix("/proc/") && (target.hasPrefix("/proc/sys/net/") || target.contains("/net/sockstat")) { namespaceFiles += 1 }
                    if target == "/proc/sys/net/ipv4/ip_local_port_range" { handles += 1 }
                }
            }

            /// Inodes of the TCP sockets not listening, in the namespace of `pid`
            /// (`/proc/PID/net/tcp` and `tcp6`: state is the 4th column, 0A is LISTEN; the inode the 10th).
            static func connectedTCPInodes(pid: pid_t) -> Set<String> {
                var inodes: Set<String> = []
                for table in ["tcp", "tcp6"] {
                    guard let text = try? String(contentsOfFile: "/proc/\(pid)/net/\(table)", encoding: .utf8) else { continue }
                    for line in text.split(separator: "\n").dropFirst() {
                        let columns = line.split(separator: " ")
                        if columns.count > 9 && columns[3] != "0A" { inodes.insert(String(columns[9])) }
                    }
                }
                return inodes
            }
        }

        /// A namespace the churn deleted, told apart from a later namespace given the same
        /// inode (the kernel reuses freed ones, and tests running alongside make namespaces) by
        /// its name and the unique range the churn gave it.
        struct Deleted: Hashable {
            var netns: String, name: String, low: Int
        }

        /// The samples of `deleted` namespaces in `exposition`: their inode with their range.
        static func stale(_ exposition: Exposition, _ deleted: Set<Deleted>) -> [Exposition.Sample] {
            var stale: [Exposition.Sample] = []
            for namespace in deleted {
                let own = exposition.namespace(namespace.netns)
                let low = own.value("portpressure_ephemeral_port_range_low")
                let name = own.series("portpressure_netns_info").keys.first?["name"]
                if low == Double(namespace.low) && name == namespace.name {
                    stale += exposition.samples.filter { $0.labels["netns"] == namespace.netns }
                }
            }
            return stale
        }

        @Test(.timeLimit(.minutes(5)))
        func churnOf500ScrapesLeavesNoSeriesAndNoDescriptorBehind() throws {
            let home = try NetworkNamespace()
            let serve = try ServeProcess.start(in: home, port: 9111, extra: ["--collector.netns"])
            defer { serve.process.stop() }
            func scrape() throws -> Exposition {
                let reply = try home.run { try HTTPClient(port: 9111, timeoutSeconds: 60).request("GET", "/metrics") }
                try #require(reply.status == 200, "scrape answered \(reply.status)")
                return try Exposition(reply.text)
            }
            let first = try scrape()
            let start = try Descriptors(pid: serve.process.pid)
            let startMeasured = try #require(first.value("portpressure_netns_exported_namespaces"))
            #expect(Double(start.handles) == startMeasured)

            // Every 10th scrape a named namespace is created and the one before deleted; every
            // 25th an anonymous one (held by a process) appears and the one before goes away.
            var named: TestNamespace?
            var anonymous: TestNamespace?
            var created = 0
            var gone: Set<Deleted> = []
            var lows: [String: Int] = [:]
            func made(named: Bool) throws -> TestNamespace {
                let namespace = try TestNamespace(named: named)
                // An odd range of its own (51001-51999, 52001-52999...).
                let low = 50001 + (created % 14) * 1000 + created / 14 * 2
                try namespace.setRange(low: low, high: low + 998, reserved: "")
                lows[try namespace.netns] = low
                created += 1
                return namespace
            }
            func delete(_ namespace: TestNamespace) throws {
                let netns = try namespace.netns
                gone.insert(Deleted(netns: netns, name: namespace.name, low: lows[netns]!))
                namespace.close()
            }
            defer {
                named?.close()
                anonymous?.close()
            }
            for index in 0..<500 {
                if index % 10 == 0 {
                    if let old = named { try delete(old) }
                    named = try made(named: true)
                }
                if index % 25 == 5 {
                    if let old = anonymous { try delete(old) }
                    anonymous = try made(named: false)
                    try anonymous!.populate([])
                }
                let exposition = try scrape()
                let stale = Self.stale(exposition, gone)
                #expect(stale.isEmpty, "scrape \(index): series of deleted namespaces: \(stale.prefix(3))")
                if index % 10 == 0 {
                    #expect(exposition.series("portpressure_netns_info").keys.contains { $0["netns"] == (try? named!.netns) && $0["name"] == named!.name },
                            "scrape \(index): the new named namespace is exported with its name")
                }
            }
            #expect(created == 70)
            if let old = named { try delete(old) }
            if let old = anonymous { try delete(old) }
            named = nil
            anonymous = nil

            // After the churn: no series of any churned namespace, and every descriptor of a
            // dropped handle closed. Other namespaces of the host may come and go meanwhile, so
            // descriptors are compared per handle: the non-namespace ones return to their start
            // count, and the rest are exactly the handles of the namespaces measured now.
            let perHandle = start.handles > 0 ? start.namespaceFiles / start.handles : 0
            var last: (Descriptors, Double?)?
            do {
                try waitUntil("the descriptors of the churned namespaces closed", timeout: .seconds(10)) {
                    let exposition: Exposition, now: Descriptors
                    // A failed scrape or reading fails the test at once, as it is no "not yet".
                    do {
                        exposition = try scrape()
                        now = try Descriptors(pid: serve.process.pid)
                    } catch {
                        throw StopWaiting("\(error)")
                    }
                    #expect(Self.stale(exposition, gone).isEmpty)
                    let measured = exposition.value("portpressure_netns_exported_namespaces")
                    last = (now, measured)
                    return now.others == start.others && Double(now.handles) == measured && now.namespaceFiles == perHandle * now.handles
                        && now.sockets - start.sockets == now.handles - start.handles
                }
            } catch is TimedOut {}  // the expectations below say what is still wrong
            let (end, measured) = try #require(last)
            #expect(end.others == start.others, "descriptors other than namespace handles: \(start.others) at start, \(end.others) after")
            #expect(Double(end.handles) == measured, "one handle per namespace measured")
            #expect(end.namespaceFiles == perHandle * end.handles)
            #expect(end.sockets - start.sockets == end.handles - start.handles, "one SOCK_DIAG socket per handle")
        }

        @Test func withoutTheCapabilitiesServeSaysWhyAndExits1() throws {
            // Root dropped to nobody: no CAP_SYS_ADMIN, no CAP_SYS_PTRACE.
            let result = try ProcessResult.run([
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
                BuiltProducts.path("portpressure"), "serve", "--collector.netns", "--web.listen-address", "127.0.0.1:9112",
            ])
            #expect(result.status == 1)
            #expect(result.stderr.contains("CAP_SYS_ADMIN") && result.stderr.contains("CAP_SYS_PTRACE"), "\(result.stderr)")
            #expect(!result.stderr.contains("serve started"))
            let report = try ProcessResult.run([
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
                BuiltProducts.path("portpressure"), "report", "--all-namespaces",
            ])
            #expect(report.status == 1 && report.stderr.contains("CAP_SYS_ADMIN"), "\(report.stderr)")
        }
    }
}
