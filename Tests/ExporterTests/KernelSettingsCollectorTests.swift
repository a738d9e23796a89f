import Exporter
import Foundation
import Metrics
import SockDiag
import Testing

@Suite struct KernelSettingsCollectorTests {
    /// A /proc/sys look-alike holding `values` (sysctl name → file text).
    func procSys(_ values: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pp-procsys-\(getpid())-\(UUID().uuidString.prefix(8))")
        for (name, text) in values {
            let file = root.appendingPathComponent(name.split(separator: ".").joined(separator: "/"))
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        return root.path
    }

    @Test("One gauge per setting, the unit in its name")
    func oneFamilyPerSetting() throws {
        let root = try procSys(["net.ipv4.tcp_tw_reuse": "2\n", "net.ipv4.ip_autobind_reuse": "0\n",
                                "net.ipv4.tcp_max_tw_buckets": "262144\n", "net.ipv4.tcp_fin_timeout": "60\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let exporter = Fixture.exporter(collectors: [KernelSettingsCollector(procSys: root)])
        let text = String(decoding: exporter.exposition(exporter.scrape(["kernel"]), selection: ["kernel"], format: .text), as: UTF8.self)
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
        let root = try procSys(["net.ipv4.tcp_fin_timeout": "30\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let exporter = Fixture.exporter(collectors: [KernelSettingsCollector(procSys: root)])
        let result = exporter.scrape(["kernel"])
        #expect(result.collectors.first?.families.map(\.name) == ["portpressure_kernel_tcp_fin_timeout_seconds"])
    }

    @Test("Every setting read has its family")
    func everySettingHasAFamily() {
        #expect(Set(KernelSettingsCollector.families.keys) == Set(KernelSettings.names))
    }
}
