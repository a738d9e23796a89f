import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Metrics

@Suite struct ProcessMetricsTests {
    /// A real /proc/<pid>/stat line whose command name holds a space and parentheses.
    static let stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1234 0 5 0 250 75 0 0 20 0 4 0 1500 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0\n"

    @Test func parsesStat() throws {
        let stat = try #require(ProcessMetrics.parseStat(Self.stat))
        #expect(stat == ProcessMetrics.Stat(userTicks: 250, systemTicks: 75, startTicks: 1500, virtualBytes: 123_456_789, residentPages: 2048))
    }

    @Test(arguments: [
        "", "4242 (x", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 1234 0 5 0 ten 75 0 0 20 0 4 0 1500 123 2048",
        "no parenthesis at all 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24",
    ]) func rejectsMalformedStat(text: String) {
        #expect(ProcessMetrics.parseStat(text) == nil)
    }

    static let limits = """
    Limit                     Soft Limit           Hard Limit           Units     
    Max cpu time              unlimited            unlimited            seconds   
    Max open files            1024                 524288               files     
    Max locked memory         8388608              8388608              bytes     

    """

    @Test func parsesMaxOpenFiles() {
        #expect(ProcessMetrics.parseMaxOpenFiles(limits: Self.limits) == 1024)
        #expect(ProcessMetrics.parseMaxOpenFiles(limits: "Max open files            unlimited            unlimited            files\n") == .infinity)
        #expect(ProcessMetrics.parseMaxOpenFiles(limits: "Max cpu time unlimited unlimited seconds\n") == nil)
        #expect(ProcessMetrics.parseMaxOpenFiles(limits: "Max open files            lots   files\n") == nil)
        #expect(ProcessMetrics.parseMaxOpenFiles(limits: "") == nil)
    }

    @Test func parsesBootTime() {
        let procStat = "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 1 2\nctxt 99\nbtime 1700000000\nprocesses 5\n"
        #expect(ProcessMetrics.parseBootTime(procStat: procStat) == 1_700_000_000)
        #expect(ProcessMetrics.parseBootTime(procStat: "cpu 1 2\nbtimex 5\n") == nil)
        #expect(ProcessMetrics.parseBootTime(procStat: "btime soon\n") == nil)
    }

    @Test func familiesFromValues() {
        let stat = ProcessMetrics.parseStat(Self.stat)
        let families = ProcessMetrics.families(stat: stat, bootTime: 1_700_000_000, maxOpenFiles: 1024, openFiles: 7,
                                               ticksPerSecond: 100, pageSize: 4096)
        let text = String(decoding: ExpositionFormat.text.render(families), as: UTF8.self)
        #expect(text == """
        # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
        # TYPE process_cpu_seconds_total counter
        process_cpu_seconds_total 3.25
        # HELP process_open_fds Number of open file descriptors.
        # TYPE process_open_fds gauge
        process_open_fds 7
        # HELP process_max_fds Maximum number of open file descriptors.
        # TYPE process_max_fds gauge
        process_max_fds 1024
        # HELP process_resident_memory_bytes Resident memory size in bytes.
        # TYPE process_resident_memory_bytes gauge
        process_resident_memory_bytes 8388608
        # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
        # TYPE process_start_time_seconds gauge
        process_start_time_seconds 1700000015

        """)
        // Missing inputs leave their families out.
        let partial = ProcessMetrics.families(stat: nil, bootTime: 1, maxOpenFiles: nil, openFiles: 3, ticksPerSecond: 100, pageSize: 4096)
        #expect(partial.map(\.name) == ["process_open_fds"])
    }
}
