import Foundation
import Glibc
import Testing
import SocketModel
import TestSupport
import Yams

/// `portpressure serve`, unprivileged, in a private network namespace holding a real socket
/// population and probes, scraped every second by Debian's real Prometheus in the same namespace:
/// every dashboard query returns data for an exporter with and one without
/// `--web.disable-exporter-metrics`, and every selector of every alert returns data; a bad probes
/// file reloaded raises the reload alert; then the range is narrowed and filled from one source
/// address, and the exhaustion, forecast, destination and probe alerts go pending or firing; then
/// the exporter stops and the exporter-down alert follows.
@Suite("End to end: portpressure serve scraped by a real Prometheus")
struct EndToEndTests {
    static let job = "portpressure"
    static let exporterPort: UInt16 = 20100
    /// A second exporter of the same namespace, started with --web.disable-exporter-metrics.
    static let leanExporterPort: UInt16 = 20101
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
    static var leanInstance: String { "127.0.0.1:\(leanExporterPort)" }
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
              - targets: ["127.0.0.1:\(exporterPort)", "127.0.0.1:\(leanExporterPort)"]

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
        try withTemporaryDirectory("pp-e2e") { directory in
            // The exporter runs as nobody: give it a directory it can read.
            chmod(directory.path, 0o755)
            try Self.probesConfig.write(to: directory.appendingPathComponent("probes.yml"), atomically: true, encoding: .utf8)
            try Self.prometheusConfig.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            try Self.rulesWithShortFor().write(to: directory.appendingPathComponent("rules.yml"), atomically: true, encoding: .utf8)

            let ns = try NetworkNamespace()
            // Count TIME_WAIT as held: no early reuse of loopback TIME_WAIT ports (default 2 does it after 1 s).
            try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")

            var sockets: [TestSocket] = []
            var acceptor: Acceptor?
            var exporter: RunningProcess?
            var leanExporter: RunningProcess?
            var server: RunningProcess?
            defer {
                server?.stop()
                exporter?.stop()
                leanExporter?.stop()
                acceptor?.stop()
                sockets.forEach { $0.close() }
            }

            // A real population: established connections, TIME_WAIT, a duplicate UDP 4-tuple,
            // connected and unconnected UDP, a bound-only TCP socket.
            let listener = try ns.run { try TestSocket.tcpListener(.at("127.0.0.1", Self.listenerPort), backlog: 1024) }
            sockets.append(listener)
            acceptor = Acceptor(listener: listener)
            sockets += try ns.run { try Self.population() }

            func serve(_ address: String, _ flags: [String]) throws -> RunningProcess {
                try ns.launch(try RunningProcess.unprivileged(
                    [binary, "serve", "--web.listen-address", address,
                     "--config.file", directory.appendingPathComponent("probes.yml").path] + flags))
            }
            exporter = try serve(Self.instance, [])
            leanExporter = try serve(Self.leanInstance, ["--web.disable-exporter-metrics"])
            let namespaceID = try ns.run { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net") }
            #expect(exporter!.networkNamespace == namespaceID, "the exporter runs in the test's namespace")
            for (name, child, port) in [("portpressure", exporter!, Self.exporterPort), ("portpressure-lean", leanExporter!, Self.leanExporterPort)] {
                try waitUntil("\(name) to be ready (/-/ready)", timeout: .seconds(20), every: .milliseconds(500)) {
                    guard child.isRunning else { throw StopWaiting("\(name) \(child.ending!):\n\(child.logTail)") }
                    return try ns.run { try HTTPClient(port: port, timeoutSeconds: 5).request("GET", "/-/ready") }.status == 200
                }
            }
            let lean = try ns.run { try HTTPClient(port: Self.leanExporterPort, timeoutSeconds: 5).request("GET", "/metrics") }.text
            #expect(!lean.contains("portpressure_build_info") && !lean.contains("process_"), "--web.disable-exporter-metrics")

            let (started, api) = try RunningProcess.prometheus(directory: directory, port: Self.prometheusPort, namespace: ns)
            server = started
            try waitUntil("five successful scrapes of both exporters", timeout: .seconds(30), every: .milliseconds(500)) {
                let up = try api.query(#"up{job="\#(Self.job)"}"#)
                let count = try api.query(#"count_over_time(up{job="\#(Self.job)"}[1m])"#)
                return up.count == 2 && up.allSatisfy { $0.value == 1 } && count.count == 2 && count.allSatisfy { $0.value >= 5 }
            }

            // What the exporter serves is the metric contract (and so the README's tables), labels included.
            let full = try ns.run { try HTTPClient(port: Self.exporterPort, timeoutSeconds: 5).request("GET", "/metrics") }.text
            var contract = MetricContract.labels
            for prometheusOwn in ["up", "scrape_duration_seconds", "scrape_samples_scraped"] { contract[prometheusOwn] = nil }
            // The portpressure_netns_* families come with --collector.netns only, which this exporter (nobody) lacks.
            for name in contract.keys where name.hasPrefix("portpressure_netns_") { contract[name] = nil }
            #expect(try ReadmeMetricsTests.exposition(full) == contract)

            // The exporter sees the namespace: its fresh default range, and our duplicate tuple.
            #expect(try api.query(#"portpressure_ephemeral_ports_limit{job="\#(Self.job)"}"#).first?.value == 28232)
            #expect(try api.query(#"portpressure_udp_overshadowed_sockets{family="ipv4"}"#).first?.value == 1)

            for instance in [Self.instance, Self.leanInstance] {
                // The netns label is the namespace's inode: net:[INODE] -> INODE.
                try Self.everyDashboardQueryReturnsData(api, instance: instance, netns: namespaceID.filter(\.isNumber))
            }
            try Self.everyAlertSelectorReturnsData(api)

            // Before any pressure: the overshadowed tuple and the refused probe alert; nothing else.
            try waitUntil("the overshadowing and refused-probe alerts", timeout: .seconds(20), every: .milliseconds(500)) {
                let alerts = try api.alerts()
                return alerts.contains { $0.labels["alertname"] == "PortPressureUDPSocketsOvershadowed" && $0.labels["family"] == "ipv4" }
                    && alerts.contains { $0.labels["alertname"] == "PortPressureProbeFailing" && $0.labels["probe"] == "closed-port"
                        && $0.labels["reason"] == "econnrefused" }
            }
            // (Not PortPressureExporterDown: on a loaded CI machine a 1 s scrape may time out now and then.)
            let quiet = try api.alerts().map { $0.labels["alertname"] ?? "" }
            for name in ["PortPressureLocalAddressPortsAlmostExhausted", "PortPressureDestinationPortsAlmostExhausted",
                         "PortPressureUDPPortsAlmostExhausted", "PortPressurePortsFillingUp", "PortPressureProbeOutOfPorts",
                         "PortPressureCollectorFailing", "PortPressureConfigReloadFailed"] {
                #expect(!quiet.contains(name), "\(name) active before any pressure")
            }

            // A bad probes file, reloaded with SIGHUP: the old probes keep running, the reload alert follows.
            try "probes:\n  - name: broken\n    protocol: tcp\n    target: 127.0.0.1:1\n    interval: 15\n"
                .write(to: directory.appendingPathComponent("probes.yml"), atomically: true, encoding: .utf8)
            chmod(directory.appendingPathComponent("probes.yml").path, 0o644)
            kill(exporter!.pid, SIGHUP)
            try waitUntil("the failed reload in the metrics", timeout: .seconds(20), every: .milliseconds(500)) {
                try api.query(#"portpressure_config_last_reload_successful{instance="\#(Self.instance)"}"#).first?.value == 0
            }

            // Narrow the range to 256 ports and fill it from one source address toward the listener.
            try ns.setPortRange(low: Self.narrowed.low, high: Self.narrowed.high)
            let filled = try ns.run { () -> [TestSocket] in
                var filled: [TestSocket] = []
                for _ in 0..<(Self.narrowed.high - Self.narrowed.low + 20) {
                    do {
                        filled.append(try TestSocket.tcpConnection(to: "127.0.0.1", Self.listenerPort, from: Self.fillSource))
                    } catch let failure as SocketFailure where failure.code == EADDRNOTAVAIL {
                        break
                    }
                }
                return filled
            }
            sockets += filled
            let limit = Self.narrowed.high - Self.narrowed.low + 1
            // The probe from the same source holds a few ports too; the rest are ours.
            #expect(filled.count > limit * 9 / 10 && filled.count <= limit, "filled \(filled.count) of \(limit)")

            try waitUntil("the exhaustion, forecast, destination and probe alerts", timeout: .seconds(40), every: .milliseconds(500)) {
                let alerts = try api.alerts()
                func active(_ name: String, _ labels: [String: String]) -> Bool {
                    alerts.contains { alert in
                        alert.labels["alertname"] == name && labels.allSatisfy { alert.labels[$0.key] == $0.value }
                            && ["pending", "firing"].contains(alert.state)
                    }
                }
                let address = ["local_address": Self.fillSource, "proto": "tcp", "instance": Self.instance]
                return active("PortPressureLocalAddressPortsAlmostExhausted", address.merging(["severity": "warning"]) { $1 })
                    && active("PortPressureDestinationPortsAlmostExhausted", address.merging(["severity": "warning"]) { $1 })
                    && active("PortPressureDestinationPortsAlmostExhausted", address.merging(["severity": "critical"]) { $1 })
                    && active("PortPressurePortsFillingUp", address)
                    && active("PortPressureProbeOutOfPorts", ["probe": "fill-target", "reason": "eaddrnotavail"])
                    && alerts.contains { $0.labels["alertname"] == "PortPressureConfigReloadFailed"
                        && $0.labels["instance"] == Self.instance && $0.state == "firing" }
            }
            // Only the exporter whose reload failed.
            #expect(try !api.alerts().contains { $0.labels["alertname"] == "PortPressureConfigReloadFailed" && $0.labels["instance"] == Self.leanInstance })
            #expect(try api.query(#"portpressure_ephemeral_ports_limit{job="\#(Self.job)"}"#).first?.value == Double(limit))
            // The same destination from another source address still works.
            #expect(try api.query(#"portpressure_probe_success{probe="listener"}"#).first?.value == 1)
            for alert in try api.alerts() {
                let name = alert.labels["alertname"] ?? ""
                #expect(alert.annotations["runbook_url"] == (try Runbook.url(alert: name)))
                for (key, text) in alert.annotations {
                    #expect(!text.contains("<no value>") && !text.contains("error"), "\(name) \(key): \(text)")
                }
            }

            // SIGTERM stops the exporter cleanly, and Prometheus notices it is gone.
            exporter!.stop()
            let ending = exporter!.ending
            #expect(ending == .exited(0), "portpressure serve \(ending) after SIGTERM:\n\(exporter!.logTail)")
            try waitUntil("the exporter-down alert", timeout: .seconds(20), every: .milliseconds(500)) {
                try api.alerts().contains { $0.labels["alertname"] == "PortPressureExporterDown" && $0.labels["instance"] == Self.instance }
            }
        }
    }

    /// Sockets a host typically has, made on the namespace's thread.
    static func population() throws -> [TestSocket] {
        var sockets: [TestSocket] = []
        // 40 established connections to the listener (the acceptor holds the other ends).
        for _ in 0..<40 { sockets.append(try TestSocket.tcpConnection(to: "127.0.0.1", listenerPort)) }
        // 10 connections closed client-first: their client ports sit in TIME_WAIT for 60 s.
        let timeWaitListener = try TestSocket.tcpListener(.at("127.0.0.1", timeWaitListenerPort), backlog: 1024)
        for _ in 0..<10 {
            let client = try TestSocket.tcpConnection(to: "127.0.0.1", timeWaitListenerPort)
            let server = try timeWaitListener.accept()
            client.close()
            // The server side closes only once the client's FIN arrived (it reads end of file),
            // so the client alone ends in TIME_WAIT (not both, as in a simultaneous close).
            try server.setTimeout(seconds: 5)
            _ = try server.readToEnd()
            server.close()
        }
        timeWaitListener.close()
        // Two connected UDP sockets on one 4-tuple: one of them receives nothing.
        for _ in 0..<2 {
            let socket = try TestSocket(.ipv4, .udp)
            try socket.setOption(SOL_SOCKET, SO_REUSEADDR)
            try socket.bind(.at("127.0.0.1", udpSharedPort))
            try socket.connect(.at("127.0.0.1", udpPeerPort))
            sockets.append(socket)
        }
        // Connected UDP sockets with ephemeral ports, toward a few destinations.
        for i in 0..<5 {
            let socket = try TestSocket(.ipv4, .udp)
            try socket.connect(.at("127.0.0.1", udpPeerPort + UInt16(1 + i % 2)))
            sockets.append(socket)
        }
        // Bound-only sockets holding ephemeral ports: unconnected UDP, TCP bound but not listening.
        for proto in [TransportProtocol.udp, .tcp] {
            let socket = try TestSocket(.ipv4, proto)
            try socket.bind(.at("127.0.0.1", 0))
            sockets.append(socket)
        }
        return sockets
    }

    /// Every query of both dashboards, variables substituted as Grafana would, returns samples;
    /// and the variables' label_values() find this job, instance and network namespace.
    static func everyDashboardQueryReturnsData(_ api: PrometheusAPI, instance: String, netns: String) throws {
        var empty: [String] = []
        for file in Repository.dashboards {
            let dashboard = try Repository.json(file)
            for query in DashboardLint.queries(in: dashboard) {
                // The namespace table needs serve --collector.netns (root's capabilities); this
                // exporter runs as nobody, in its own namespace only.
                if "\(query)".contains("--collector.netns") { continue }
                let expr = DashboardLint.substitute(query.expr, job: job, instance: instance, rateInterval: rateInterval)
                do {
                    if try api.query(expr).isEmpty { empty.append("\(file) \(query) for \(instance): no data") }
                } catch {
                    empty.append("\(file) \(query): \(error)")
                }
            }
            // The variables, as Grafana asks for them: label_values(METRIC{...}, LABEL).
            // The host dashboard's netns (every namespace-scoped family has it) finds this namespace too.
            for name in ["job", "instance", "netns"] {
                guard let variable = DashboardLint.variable(name, in: dashboard) else {
                    #expect(name == "netns", "\(file) has no \(name) variable")
                    continue
                }
                let query = DashboardLint.variableQuery(variable)
                let inside = query.dropFirst("label_values(".count).dropLast()
                let comma = try #require(inside.lastIndex(of: ","))
                let match = DashboardLint.substitute(String(inside[..<comma]), job: job, instance: instance, rateInterval: rateInterval)
                let label = inside[inside.index(after: comma)...].trimmingCharacters(in: .whitespaces)
                #expect(label == name)
                let values = try api.labelValues(label, match: match)
                switch name {
                case "job": #expect(values.contains(job), "\(file) \(name): \(query)")
                case "instance": #expect(values.contains(instance), "\(file) \(name): \(query)")
                default: #expect(values == [netns], "\(file) \(name): \(query): one namespace without --collector.netns")
                }
            }
        }
        #expect(empty.isEmpty, "\(empty.joined(separator: "\n"))")
    }

    /// Every alert expression evaluates, and every selector in it returns samples: the names,
    /// labels and label values the alerts rely on are what the exporter serves.
    static func everyAlertSelectorReturnsData(_ api: PrometheusAPI) throws {
        var problems: [String] = []
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            do { _ = try api.query(rule.expr) } catch { problems.append("\(rule.alert!): \(error)") }
            // portpressure_netns_info exists with --collector.netns only; the alerts join it
            // optionally (`or` the plain condition), and this exporter runs without it.
            for selector in try PromQLSelectors.selectors(in: rule.expr) where selector.metric != "portpressure_netns_info" {
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
