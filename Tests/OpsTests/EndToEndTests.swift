import Foundation
import Glibc
import Testing
import TestSupport
import Yams

/// `portpressure serve`, unprivileged, in a private network namespace holding a real socket
/// population and probes, scraped every second by Debian's real Prometheus in the same namespace:
/// every dashboard query and every selector of every alert returns data; then the range is
/// narrowed and filled from one source address, and the exhaustion, forecast, destination and
/// probe alerts go pending or firing; then the exporter stops and the exporter-down alert follows.
@Suite("End to end: portpressure serve scraped by a real Prometheus")
struct EndToEndTests {
    static let job = "portpressure"
    static let exporterPort: UInt16 = 20100
    static let prometheusPort: UInt16 = 20090
    /// Ports the test's own servers use: below the default range (32768-60999) and outside the narrowed one.
    static let listenerPort: UInt16 = 20000
    static let timeWaitListenerPort: UInt16 = 20003
    static let closedPort: UInt16 = 20009
    static let udpSharedPort: UInt16 = 20001
    static let udpPeerPort: UInt16 = 20002
    /// The narrowed range: 256 usable ports.
    static let narrowed = (low: 40000, high: 40255)
    /// Where the test fills the narrowed range from; the probe `fill-target` uses it too.
    static let fillSource = "127.0.0.2"
    static var instance: String { "127.0.0.1:\(exporterPort)" }
    /// What Grafana's $__rate_interval would be with a 1 s scrape interval and a short range.
    static let rateInterval = "10s"

    /// The `portpressure` binary of this build (next to the test bundle), or $PORTPRESSURE_BINARY.
    static func portpressureBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PORTPRESSURE_BINARY"] { return path }
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let candidate = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("portpressure").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw OpsTestError("no portpressure binary at \(candidate): `swift build --product portpressure`, or set PORTPRESSURE_BINARY")
        }
        return candidate
    }

    static let probesConfig = """
        probes:
          - name: listener
            protocol: tcp
            target: 127.0.0.1:\(listenerPort)
            interval: 1s
            timeout: 1s
          - name: fill-target
            protocol: tcp
            target: 127.0.0.1:\(listenerPort)
            source: \(fillSource)
            interval: 1s
            timeout: 1s
          - name: closed-port
            protocol: tcp
            target: 127.0.0.1:\(closedPort)
            interval: 1s
            timeout: 1s

        """

    static let prometheusConfig = """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - rules.yml
        scrape_configs:
          - job_name: \(job)
            static_configs:
              - targets: ["127.0.0.1:\(exporterPort)"]

        """

    /// alerts.yml with every `for` shortened to 2 s, so pending turns to firing within the test.
    static func rulesWithShortFor() throws -> String {
        var rules = try RuleFile.load(Repository.alertRules)
        for g in rules.groups.indices {
            for r in rules.groups[g].rules.indices where rules.groups[g].rules[r].forDuration != nil {
                rules.groups[g].rules[r].forDuration = "2s"
            }
        }
        return try YAMLEncoder().encode(rules)
    }

    @Test("Dashboards and alerts against a real Prometheus scraping portpressure serve", .timeLimit(.minutes(3)))
    func dashboardsAndAlertsEndToEnd() throws {
        let binary = try Self.portpressureBinary()
        let setpriv = try Tool.path("setpriv")
        let prometheus = try Tool.path("prometheus")
        try withTemporaryDirectory("pp-e2e") { directory in
            // The exporter runs as nobody: give it a directory it can read.
            chmod(directory.path, 0o755)
            try Self.probesConfig.write(to: directory.appendingPathComponent("probes.yml"), atomically: true, encoding: .utf8)
            try Self.prometheusConfig.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            try Self.rulesWithShortFor().write(to: directory.appendingPathComponent("rules.yml"), atomically: true, encoding: .utf8)

            let ns = try NetworkNamespace()
            // Count TIME_WAIT as held: no early reuse of loopback TIME_WAIT ports (default 2 does it after 1 s).
            try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")

            var fds: [Int32] = []
            var acceptor: Acceptor?
            var exporter: ChildProcess?
            var server: ChildProcess?
            defer {
                server?.stop()
                exporter?.stop()
                acceptor?.stop()
                fds.forEach { close($0) }
            }

            // A real population: established connections, TIME_WAIT, a duplicate UDP 4-tuple,
            // connected and unconnected UDP, a bound-only TCP socket.
            let listener = try ns.run { try Sockets.tcpListener("127.0.0.1", Self.listenerPort) }
            fds.append(listener)
            acceptor = Acceptor(listener: listener)
            fds += try ns.run { try Self.population() }

            exporter = try ChildProcess(
                name: "portpressure",
                arguments: [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
                            "--inh-caps=-all", "--bounding-set=-all", "--",
                            binary, "serve", "--web.listen-address", Self.instance,
                            "--config.file", directory.appendingPathComponent("probes.yml").path],
                logDirectory: directory, namespace: ns)
            let namespaceID = try ns.run { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net") }
            #expect(exporter!.networkNamespace == namespaceID, "the exporter runs in the test's namespace")
            try eventually("portpressure serve to answer /metrics", within: 20) {
                guard exporter!.isRunning else {
                    throw StopWaiting("portpressure serve \(exporter!.exitedEarly!):\n\(exporter!.logTail)")
                }
                let response = try ns.run { try LoopbackHTTP.get(port: Self.exporterPort, path: "/metrics") }
                return response.status == 200
            }

            server = try ChildProcess(
                name: "prometheus",
                arguments: [prometheus,
                            "--config.file=\(directory.appendingPathComponent("prometheus.yml").path)",
                            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
                            "--web.listen-address=127.0.0.1:\(Self.prometheusPort)",
                            "--log.level=warn"],
                logDirectory: directory, namespace: ns)
            let api = PrometheusAPI(namespace: ns, port: Self.prometheusPort)
            try eventually("Prometheus to be ready", within: 30) {
                guard server!.isRunning else { throw StopWaiting("prometheus \(server!.exitedEarly!):\n\(server!.logTail)") }
                return (try? ns.run { try LoopbackHTTP.get(port: Self.prometheusPort, path: "/-/ready") })?.status == 200
            }
            try eventually("five successful scrapes", within: 30) {
                let up = try api.query(#"up{job="\#(Self.job)"}"#)
                let count = try api.query(#"count_over_time(up{job="\#(Self.job)"}[1m])"#)
                return up.first?.value == 1 && (count.first?.value ?? 0) >= 5
            }

            // The exporter sees the namespace: its fresh default range, and our duplicate tuple.
            #expect(try api.query(#"portpressure_ephemeral_ports_limit{job="\#(Self.job)"}"#).first?.value == 28232)
            #expect(try api.query(#"portpressure_udp_overshadowed_sockets{family="ipv4"}"#).first?.value == 1)

            try Self.everyDashboardQueryReturnsData(api)
            try Self.everyAlertSelectorReturnsData(api)

            // Before any pressure: the overshadowed tuple and the refused probe alert; nothing else.
            try eventually("the overshadowing and refused-probe alerts", within: 20) {
                let alerts = try api.alerts()
                return alerts.contains { $0.labels["alertname"] == "PortPressureUDPSocketsOvershadowed" && $0.labels["family"] == "ipv4" }
                    && alerts.contains { $0.labels["alertname"] == "PortPressureProbeFailing" && $0.labels["probe"] == "closed-port"
                        && $0.labels["reason"] == "econnrefused" }
            }
            // (Not PortPressureExporterDown: on a loaded CI machine a 1 s scrape may time out now and then.)
            let quiet = try api.alerts().map { $0.labels["alertname"] ?? "" }
            for name in ["PortPressureEphemeralPortsAlmostExhausted", "PortPressureDestinationPortsAlmostExhausted",
                         "PortPressureEphemeralPortsFillingUp", "PortPressureProbeOutOfPorts", "PortPressureCollectorFailing"] {
                #expect(!quiet.contains(name), "\(name) active before any pressure")
            }

            // Narrow the range to 256 ports and fill it from one source address toward the listener.
            try ns.setPortRange(low: Self.narrowed.low, high: Self.narrowed.high)
            let filled = try ns.run { () -> [Int32] in
                var filled: [Int32] = []
                for _ in 0..<(Self.narrowed.high - Self.narrowed.low + 20) {
                    do {
                        filled.append(try Sockets.tcpConnection(to: "127.0.0.1", Self.listenerPort, from: Self.fillSource))
                    } catch let failure as SocketCallFailure where failure.errno == EADDRNOTAVAIL {
                        break
                    }
                }
                return filled
            }
            fds += filled
            let limit = Self.narrowed.high - Self.narrowed.low + 1
            // The probe from the same source holds a few ports too; the rest are ours.
            #expect(filled.count > limit * 9 / 10 && filled.count <= limit, "filled \(filled.count) of \(limit)")

            try eventually("the exhaustion, forecast, destination and probe alerts", within: 40) {
                let alerts = try api.alerts()
                func active(_ name: String, _ labels: [String: String]) -> Bool {
                    alerts.contains { alert in
                        alert.labels["alertname"] == name && labels.allSatisfy { alert.labels[$0.key] == $0.value }
                            && ["pending", "firing"].contains(alert.state)
                    }
                }
                let address = ["local_address": Self.fillSource, "proto": "tcp", "instance": Self.instance]
                return active("PortPressureEphemeralPortsAlmostExhausted", address.merging(["severity": "warning"]) { $1 })
                    && active("PortPressureEphemeralPortsAlmostExhausted", address.merging(["severity": "critical"]) { $1 })
                    && active("PortPressureEphemeralPortsFillingUp", address)
                    && active("PortPressureDestinationPortsAlmostExhausted", address.merging(["severity": "critical"]) { $1 })
                    && active("PortPressureProbeOutOfPorts", ["probe": "fill-target", "reason": "eaddrnotavail"])
            }
            #expect(try api.query(#"portpressure_ephemeral_ports_limit{job="\#(Self.job)"}"#).first?.value == Double(limit))
            // The same destination from another source address still works.
            #expect(try api.query(#"portpressure_probe_success{probe="listener"}"#).first?.value == 1)
            for alert in try api.alerts() {
                let name = alert.labels["alertname"] ?? ""
                #expect(alert.annotations["runbook_url"] == Runbook.url(alert: name))
                for (key, text) in alert.annotations {
                    #expect(!text.contains("<no value>") && !text.contains("error"), "\(name) \(key): \(text)")
                }
            }

            // SIGTERM stops the exporter cleanly, and Prometheus notices it is gone.
            let ending = exporter!.stop()
            #expect(ending == .exited(0), "portpressure serve \(ending) after SIGTERM:\n\(exporter!.logTail)")
            try eventually("the exporter-down alert", within: 20) {
                try api.alerts().contains { $0.labels["alertname"] == "PortPressureExporterDown" && $0.labels["instance"] == Self.instance }
            }
        }
    }

    /// Sockets a host typically has, made on the namespace's thread; returns their descriptors.
    static func population() throws -> [Int32] {
        var fds: [Int32] = []
        // 40 established connections to the listener (the acceptor holds the other ends).
        for _ in 0..<40 { fds.append(try Sockets.tcpConnection(to: "127.0.0.1", listenerPort)) }
        // 10 connections closed client-first: their client ports sit in TIME_WAIT for 60 s.
        let timeWaitListener = try Sockets.tcpListener("127.0.0.1", timeWaitListenerPort)
        for _ in 0..<10 {
            let client = try Sockets.tcpConnection(to: "127.0.0.1", timeWaitListenerPort)
            let server = accept(timeWaitListener, nil, nil)
            close(client)
            usleep(1_000)
            if server >= 0 { close(server) }
        }
        close(timeWaitListener)
        // Two connected UDP sockets on one 4-tuple: one of them receives nothing.
        for _ in 0..<2 {
            let fd = try Sockets.socket(Sockets.udp)
            try Sockets.setOption(fd, SOL_SOCKET, SO_REUSEADDR)
            try Sockets.bind(fd, "127.0.0.1", udpSharedPort)
            try Sockets.connect(fd, "127.0.0.1", udpPeerPort)
            fds.append(fd)
        }
        // Connected UDP sockets with ephemeral ports, toward a few destinations.
        for i in 0..<5 {
            let fd = try Sockets.socket(Sockets.udp)
            try Sockets.connect(fd, "127.0.0.1", udpPeerPort + UInt16(1 + i % 2))
            fds.append(fd)
        }
        // Bound-only sockets holding ephemeral ports: unconnected UDP, TCP bound but not listening.
        for type in [Sockets.udp, Sockets.tcp] {
            let fd = try Sockets.socket(type)
            try Sockets.bind(fd, "127.0.0.1", 0)
            fds.append(fd)
        }
        return fds
    }

    /// Every query of both dashboards, variables substituted as Grafana would, returns samples;
    /// and the variables' label_values() find this job and instance.
    static func everyDashboardQueryReturnsData(_ api: PrometheusAPI) throws {
        var empty: [String] = []
        for file in Repository.dashboards {
            let dashboard = try Repository.json(file)
            for query in DashboardLint.queries(in: dashboard) {
                // The namespace table needs serve --collector.netns (root's capabilities); this
                // exporter runs as nobody, in its own namespace only.
                if "\(query)".contains("--collector.netns") { continue }
                let expr = DashboardLint.substitute(query.expr, job: job, instance: instance, rateInterval: rateInterval)
                do {
                    if try api.query(expr).isEmpty { empty.append("\(file) \(query): no data") }
                } catch {
                    empty.append("\(file) \(query): \(error)")
                }
            }
        }
        #expect(empty.isEmpty, "\(empty.joined(separator: "\n"))")
        #expect(try api.labelValues("job", match: "portpressure_build_info").contains(job))
        #expect(try api.labelValues("instance", match: #"portpressure_build_info{job="\#(job)"}"#).contains(instance))
    }

    /// Every alert expression evaluates, and every selector in it returns samples: the names,
    /// labels and label values the alerts rely on are what the exporter serves.
    static func everyAlertSelectorReturnsData(_ api: PrometheusAPI) throws {
        var problems: [String] = []
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            do { _ = try api.query(rule.expr) } catch { problems.append("\(rule.alert!): \(error)") }
            for selector in try PromQLSelectors.selectors(in: rule.expr) {
                var plain = selector
                plain.range = nil
                do {
                    if try api.query(plain.description).isEmpty { problems.append("\(rule.alert!): \(plain) has no data") }
                } catch {
                    problems.append("\(rule.alert!): \(plain): \(error)")
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
