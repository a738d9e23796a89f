#if canImport(Glibc)
import Glibc
#endif
import Logging
import Metrics
@testable import Probes
import Synchronization
import ConnectXTestSupport
import TestSupport
import Testing

/// Keeps log messages for assertions.
struct CapturingLogHandler: LogHandler {
    let book: LogBook
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    init(_ book: LogBook) { self.book = book }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let (level, message, metadata) = (event.level, event.message, event.metadata)
        let fields = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        book.messages.withLock { $0.append("\(level) \(message) \(fields)") }
    }
}

final class LogBook: Sendable {
    let messages = Mutex<[String]>([])
    var logger: Logger { Logger(label: "test") { _ in CapturingLogHandler(self) } }
    func contains(_ text: String) -> Bool { messages.withLock { $0.contains { $0.contains(text) } } }
}

extension MetricFamily {
    /// The single unlabelled sample's value.
    var onlyValue: Double? { count == 1 && labelNames.isEmpty ? value(at: 0) : nil }
}

extension ProbesTests {
    @Suite struct ServiceTests {
        static func config(_ probes: [(name: String, target: String)]) -> String {
            "probes:\n" + probes.map { "  - name: \($0.name)\n    protocol: tcp\n    target: \($0.target)\n    interval: 100ms\n    timeout: 50ms\n" }.joined()
        }

        @Test func reloadGoodBadGood() throws {
            let path = "/tmp/portpressure-probes-reload-\(getpid()).yml"
            defer { TestFile.remove(path) }
            try TestFile.write(path, Self.config([("a", "127.0.0.2:80"), ("b", "127.0.0.2:81")]))
            let ns = try NetworkNamespace()
            let listener = try ns.run { try Fixture.tcpListener("127.0.0.2:80") }
            let log = LogBook()
            let service = try ProbeService(configFile: path, concurrency: 2, logger: log.logger)
            defer { service.stop() }
            let loaded = service.reloadStatus
            #expect(loaded.successful)
            try ns.run { try service.start() }
            #expect(eventually { service.statuses().allSatisfy { $0.runs >= 2 } })
            let first = service.statuses()
            #expect(first[0].last?.succeeded == true)
            #expect(first[1].last?.failure == .econnrefused)
            #expect(log.contains("probe failed") && log.contains("reason=econnrefused"))

            // A bad file: the old probes keep running, the metric says 0, the timestamp stays.
            try TestFile.write(path, "probes:\n  - name: a\n    protocol: tcp\n    target: 127.0.0.2:80\n    interval: 15\n")
            let bad = service.reload()
            #expect(bad.failure?.field == "interval")
            #expect(service.reloadStatus == ReloadStatus(successful: false, lastSuccess: loaded.lastSuccess))
            #expect(log.contains("reloading the probes failed"))
            let runsAtFailure = service.statuses().map(\.runs)
            #expect(eventually { zip(service.statuses().map(\.runs), runsAtFailure).allSatisfy { $0 > $1 + 1 } })
            var families = service.metricFamilies()
            #expect(families.first { $0.name == "portpressure_config_last_reload_successful" }?.onlyValue == 0)
            #expect(families.first { $0.name == "portpressure_config_last_reload_success_timestamp_seconds" }?.onlyValue == loaded.lastSuccess)
            #expect(families.first { $0.name == "portpressure_probe_runs_total" }?.count == 2)

            // Good again: a keeps its counters, b goes, c comes.
            try TestFile.write(path, Self.config([("a", "127.0.0.2:80"), ("c", "127.0.0.2:82")]))
            let aBefore = service.statuses()[0]
            let good = service.reload()
            #expect(try good.get().probes.map(\.name) == ["a", "c"])
            let status = service.reloadStatus
            #expect(status.successful)
            #expect(status.lastSuccess > loaded.lastSuccess)
            let now = service.statuses()
            #expect(now.map(\.definition.name) == ["a", "c"])
            #expect(now[0].runs >= aBefore.runs)
            families = service.metricFamilies()
            #expect(families.first { $0.name == "portpressure_config_last_reload_successful" }?.onlyValue == 1)
            let failures = try #require(families.first { $0.name == "portpressure_probe_failures_total" })
            #expect(failures.value(where: ["probe": "c", "reason": "econnrefused"]) == 0)
            #expect(failures.value(where: ["probe": "b", "reason": "econnrefused"]) == nil)
            #expect(eventually { service.statuses()[1].failures(.econnrefused) >= 1 })
            withExtendedLifetime(listener) {}
        }

        /// Issue 11: a file over a limit is refused on reload as at start; the old probes stay.
        @Test func reloadRefusesAFileOverALimit() throws {
            let path = "/tmp/portpressure-probes-reload-limit-\(getpid()).yml"
            defer { TestFile.remove(path) }
            try TestFile.write(path, Self.config([("a", "127.0.0.2:80")]))
            let service = try ProbeService(configFile: path, concurrency: 1, logger: LogBook().logger)
            defer { service.stop() }
            try TestFile.write(path, Self.config([(String(repeating: "a", count: 5_000), "127.0.0.2:80")]))
            let refused = service.reload()
            #expect(refused.failure?.description == "\(path):2: probe #1, field name: 5000 bytes long, more than the limit of 128 bytes")
            #expect(service.statuses().map(\.definition.name) == ["a"])
            #expect(!service.reloadStatus.successful)
            try TestFile.write(path, "probes: []\n" + String(repeating: " ", count: ProbeConfig.Limits.fileBytes))
            #expect(service.reload().failure?.message.hasPrefix("the file is ") == true)
            #expect(service.statuses().map(\.definition.name) == ["a"])
        }

        @Test func aBadFileAtStartIsAnError() throws {
            let path = "/tmp/portpressure-probes-bad-\(getpid()).yml"
            defer { TestFile.remove(path) }
            try TestFile.write(path, "probes:\n  - name: a\n    protocol: tcp\n    target: 127.0.0.2\n")
            do throws(ProbeConfigError) {
                _ = try ProbeService(configFile: path, logger: LogBook().logger)
                Issue.record("a bad file was accepted")
            } catch {
                #expect(error.file == path && error.probe == "a" && error.field == "target" && error.line == 4)
            }
        }
    }

    @Suite struct MetricsTests {
        static let statuses: [ProbeStatus] = {
            var dns = ProbeStatus(definition: ProbeDefinition(
                name: "dns", proto: .udp, target: ProbeTarget(parsing: "10.0.0.53:53")!, source: ep("10.0.0.10"), method: .plain,
                send: [1], expect: [1]))
            dns.record(ProbeResult(probe: "dns", failure: .eagain, duration: .milliseconds(1), finishedAt: 1_700_000_000))
            dns.record(ProbeResult(probe: "dns", failure: nil, duration: .milliseconds(250), finishedAt: 1_700_000_015.5))
            let fresh = ProbeStatus(definition: ProbeDefinition(name: "web \"main\"", proto: .tcp, target: ProbeTarget(parsing: "[2001:db8::1]:443")!))
            return [dns, fresh]
        }()

        @Test func familiesAndEveryReasonFromTheStart() throws {
            let families = ProbeMetrics.families(Self.statuses, reload: ReloadStatus(successful: true, lastSuccess: 1_699_999_990))
            func family(_ name: String) throws -> MetricFamily { try #require(families.first { $0.name == name }) }
            #expect(try family("portpressure_probe_success").value(where: ["probe": "dns"]) == 1)
            // No last run yet: no success, duration or timestamp for it.
            #expect(try family("portpressure_probe_success").count == 1)
            #expect(try family("portpressure_probe_duration_seconds").value(where: ["probe": "dns"]) == 0.25)
            #expect(try family("portpressure_probe_last_run_timestamp_seconds").value(where: ["probe": "dns"]) == 1_700_000_015.5)
            #expect(try family("portpressure_probe_runs_total").value(where: ["probe": "dns"]) == 2)
            #expect(try family("portpressure_probe_runs_total").value(where: ["probe": "web \"main\""]) == 0)
            let failures = try family("portpressure_probe_failures_total")
            #expect(failures.type == .counter)
            #expect(failures.count == 2 * ProbeFailureReason.allCases.count)
            #expect(failures.value(where: ["probe": "dns", "reason": "eagain"]) == 1)
            for reason in ["eaddrnotavail", "eaddrinuse", "econnrefused", "etimedout", "ehostunreach", "unexpected_reply", "overshadowed", "other"] {
                #expect(failures.value(where: ["probe": "dns", "reason": reason]) == 0)
                #expect(failures.value(where: ["probe": "web \"main\"", "reason": reason]) == 0)
            }
            let info = try family("portpressure_probe_info")
            #expect(info.value(where: ["probe": "dns", "proto": "udp", "target": "10.0.0.53:53", "source": "10.0.0.10", "method": "plain"]) == 1)
            #expect(info.value(where: ["probe": "web \"main\"", "proto": "tcp", "target": "[2001:db8::1]:443", "source": "", "method": "connectx"]) == 1)
            #expect(try family("portpressure_config_last_reload_successful").onlyValue == 1)
            #expect(try family("portpressure_config_last_reload_success_timestamp_seconds").onlyValue == 1_699_999_990)
            #expect(!ProbeMetrics.families([], reload: nil).contains { $0.name.hasPrefix("portpressure_config_") })
        }

        /// promtool lints the text format (it does not read OpenMetrics).
        @Test func theTextExpositionPassesPromtool() throws {
            var writer = ExpositionWriter(format: .text, capacity: 4096)
            writer.write(contentsOf: ProbeMetrics.families(Self.statuses, reload: ReloadStatus(successful: false, lastSuccess: 1_699_999_990)))
            let text = String(decoding: writer.finish(), as: UTF8.self)
            #expect(text.contains("# TYPE portpressure_probe_failures_total counter\n"))
            #expect(text.contains("portpressure_probe_failures_total{probe=\"dns\",reason=\"unexpected_reply\"} 0\n"))
            #expect(text.contains("portpressure_probe_info{probe=\"web \\\"main\\\"\",proto=\"tcp\",target=\"[2001:db8::1]:443\",source=\"\",method=\"connectx\"} 1\n"))
            #expect(text.contains("portpressure_config_last_reload_successful 0\n"))
            let check = try Tool.run(["promtool", "check", "metrics"], input: text)
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(check.stdout.isEmpty && check.stderr.isEmpty, "lint findings: \(check.stdout)\(check.stderr)")
        }

        @Test func theOpenMetricsExpositionNamesCountersByTheirBase() {
            var writer = ExpositionWriter(format: .openMetrics, capacity: 4096)
            writer.write(contentsOf: ProbeMetrics.families(Self.statuses, reload: nil))
            let text = String(decoding: writer.finish(), as: UTF8.self)
            #expect(text.contains("# TYPE portpressure_probe_failures counter\n"))
            #expect(text.contains("# TYPE portpressure_probe_runs counter\n"))
            #expect(text.contains("portpressure_probe_runs_total{probe=\"dns\"} 2\n"))
            #expect(text.hasSuffix("# EOF\n"))
        }
    }
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}
