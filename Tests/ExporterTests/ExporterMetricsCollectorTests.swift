import Foundation
@testable import Exporter
import Metrics
import Testing

@Suite struct ExporterMetricsCollectorTests {
    /// The live collection from /proc/self gives all five families with plausible values.
    @Test func collectsFromProcSelf() throws {
        let cpuBefore = Double(clock()) / Double(CLOCKS_PER_SEC)
        let families = ExporterMetricsCollector.processFamilies()
        let cpuAfter = Double(clock()) / Double(CLOCKS_PER_SEC)
        #expect(families.map(\.name) == ["process_cpu_seconds_total", "process_open_fds", "process_max_fds",
                                         "process_resident_memory_bytes", "process_start_time_seconds"])
        func value(_ name: String) throws -> Double { try #require(families.first { $0.name == name }?.value(at: 0)) }
        // clock(3) measures the same process CPU time; /proc counts it in 10 ms ticks.
        let cpu = try value("process_cpu_seconds_total")
        #expect(cpu >= cpuBefore - 0.05 && cpu <= cpuAfter + 0.05, "cpu \(cpu) outside [\(cpuBefore), \(cpuAfter)]")
        let openFiles = try value("process_open_fds")
        let maxFiles = try value("process_max_fds")
        #expect(openFiles >= 3 && openFiles <= maxFiles)
        let resident = try value("process_resident_memory_bytes")
        #expect(resident > 1_048_576)
        let start = try value("process_start_time_seconds")
        // This test process started moments ago (clock ticks are 10 ms).
        let now = Double(time(nil))
        #expect(start <= now + 1 && start > now - 3600)
    }
}
