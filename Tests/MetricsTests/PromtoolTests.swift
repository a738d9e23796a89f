import Foundation
import Testing
import Metrics
import TestSupport

/// `promtool check metrics` (Debian's `prometheus` package) lints the text exposition the way
/// Prometheus parses it. A missing promtool fails the test: it is a declared dependency.
@Suite struct PromtoolTests {
    /// Runs `promtool check metrics` with `input` on stdin; returns its exit status and output.
    static func checkMetrics(_ input: [UInt8]) throws -> (status: Int32, output: String) {
        let result = try ProcessResult.run([Tool.path("promtool"), "check", "metrics"], inputBytes: input)
        return (result.status, result.stdout + result.stderr)
    }

    @Test func representativeScrapePassesPromtool() throws {
        // A scrape shaped like the exporter's, including the process metrics read live.
        var families: [MetricFamily] = []
        var used = MetricFamily(name: "portpressure_ephemeral_ports_used", help: "Distinct ephemeral ports held.",
                                type: .gauge, labelNames: ["proto", "family", "local_address"])
        used.append(28231, "tcp", "ipv4", "10.0.0.1")
        used.append(4, "udp", "ipv6", "fe80::1%eth0")
        families.append(used)
        var odd = MetricFamily(name: "portpressure_escaping_example", help: "A family with \\ and\nnewline in help.",
                               type: .gauge, labelNames: ["name"])
        odd.append(2, "net.ipv4.tcp_tw_reuse")
        odd.append(.nan, "quote \" backslash \\ newline \n")
        odd.append(.infinity, "inf")
        families.append(odd)
        families.append(MetricFamily(name: "portpressure_sock_diag_dump_retries_total", help: "Dump retries.", type: .counter, value: 0))
        families += ProcessMetrics.families(stat: ProcessMetrics.parseStat(ProcessMetricsTests.stat), bootTime: 1_700_000_000,
                                            maxOpenFiles: .infinity, openFiles: 7, ticksPerSecond: 100, pageSize: 4096)
        let bytes = ExpositionFormat.text.render(families)
        let (status, output) = try Self.checkMetrics(bytes)
        #expect(status == 0, "promtool: \(output)\n--- input ---\n\(String(decoding: bytes, as: UTF8.self))")
        #expect(output.isEmpty, "promtool lint findings: \(output)")
    }

    /// The check is real: promtool rejects a malformed exposition and lints a bad counter name.
    @Test func promtoolRejectsBadInput() throws {
        let (status, _) = try Self.checkMetrics(Array("# TYPE x gauge\nx{a=\"unterminated} 1\n".utf8))
        #expect(status != 0)
        let counter = ExpositionFormat.text.render([MetricFamily(name: "requests", help: "No _total.", type: .counter, value: 1)])
        let (lintStatus, lintOutput) = try Self.checkMetrics(counter)
        #expect(lintStatus != 0)
        #expect(lintOutput.contains("_total"))
    }
}
