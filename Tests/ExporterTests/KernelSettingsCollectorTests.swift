import Exporter
import Foundation
import Metrics
import SockDiag
import Testing
import TestSupport

@Suite struct KernelSettingsCollectorTests {
    /// Calls `body` with a temporary /proc/sys look-alike holding `values` (sysctl name → file
    /// text), removed afterwards.
    func withProcSys<T>(_ values: [String: String], _ body: (String) throws -> T) throws -> T {
        try withTemporaryDirectory("pp-procsys") { root in
            for (name, text) in values {
                let file = root.appendingPathComponent(name.split(separator: ".").joined(separator: "/"))
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: file, atomically: true, encoding: .utf8)
            }
            return try body(root.path)
        }
    }

    @Test("One gauge per setting, the unit in its name")
    func oneFamilyPerSetting() throws {
        let text = try withProcSys(["net.ipv4.tcp_tw_reuse": "2\n", "net.ipv4.ip_autobind_reuse": "0\n",
                                    "net.ipv4.tcp_max_tw_buckets": "262144\n", "net.ipv4.tcp_fin_timeout": "60\n"]) { root in
            let exporter = Fixture.exporter(collectors: [KernelSettingsCollector(procSys: root)])
            return String(decoding: exporter.exposition(exporter.scrape(["kernel"]), selection: ["kernel"], format: .text), as: UTF8.self)
        }
        let lines = text.split(separator: "\n")
        for (name, value) in [("portpressure_kernel_tcp_tw_reuse", "2"), ("portpressure_kernel_ip_autobind_reuse", "0"),
                              ("portpressure_kernel_tcp_max_tw_buckets", "262144"), ("portpressure_kernel_tcp_fin_timeout_seconds", "60")] {
            // One series per namespace, labelled with its inode (`netns`).
            #expect(lines.contains { $0.hasPrefix(name + "{netns=\"") && $0.hasSuffix("\"} " + value) }, "\(name) \(value) in\n\(text)")
        }
        #expect(text.contains("# TYPE portpressure_kernel_tcp_fin_timeout_seconds gauge\n"))
        #expect(!text.contains("portpressure_kernel_setting"))
    }

    @Test("A setting the kernel lacks is left out, not exported as 0")
    func missingSettingIsLeftOut() throws {
        let result = try withProcSys(["net.ipv4.tcp_fin_timeout": "30\n"]) { root in
            Fixture.exporter(collectors: [KernelSettingsCollector(procSys: root)]).scrape(["kernel"])
        }
        #expect(result.collectors.first?.families.map(\.name) == ["portpressure_kernel_tcp_fin_timeout_seconds"])
    }

    @Test("Every setting read has its family")
    func everySettingHasAFamily() {
        #expect(Set(KernelSettingsCollector.families.keys) == Set(KernelSettings.names))
    }
}
