/// The standard `process_*` metrics of the running process, read from `/proc/self` (Linux).
///
/// Pure: parsing (`parseStat`, `parseMaxOpenFiles`, `parseBootTime`), tested on recorded
/// text, and the families from what was read. Reading `/proc` is the exporter's, in
/// collection (`ExporterMetricsCollector`). A value that cannot be read is left out rather
/// than reported as 0.
public enum ProcessMetrics {
    /// The fields of `/proc/<pid>/stat` that the metrics use.
    public struct Stat: Sendable, Hashable {
        /// Field 14, `utime`, in clock ticks.
        public var userTicks: UInt64
        /// Field 15, `stime`, in clock ticks.
        public var systemTicks: UInt64
        /// Field 22, `starttime`, in clock ticks after boot.
        public var startTicks: UInt64
        /// Field 23, `vsize`, in bytes.
        public var virtualBytes: UInt64
        /// Field 24, `rss`, in pages.
        public var residentPages: UInt64
    }

    /// Parses `/proc/<pid>/stat`. The command name (field 2) is parenthesized and may hold
    /// spaces and parentheses, so fields are counted from the last `)`.
    public static func parseStat(_ text: String) -> Stat? {
        guard let close = text.utf8.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Fields from 3 (state) on.
        let fields = text.utf8[text.utf8.index(after: close)...].split(separator: UInt8(ascii: " "))
        func field(_ number: Int) -> UInt64? {
            let index = number - 3
            guard index < fields.count else { return nil }
            return UInt64(String(decoding: fields[index], as: UTF8.self).trimming("\n"))
        }
        guard let user = field(14), let system = field(15), let start = field(22),
              let virtual = field(23), let resident = field(24) else { return nil }
        return Stat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }

    /// The soft limit on open files from `/proc/<pid>/limits` (`+Inf` for `unlimited`), or nil.
    public static func parseMaxOpenFiles(limits text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let columns = line.dropFirst("Max open files".count).split(separator: " ")
            guard let soft = columns.first else { return nil }
            if soft == "unlimited" { return .infinity }
            return UInt64(soft).map { Double($0) }
        }
        return nil
    }

    /// The boot time (`btime`, seconds since the epoch) from `/proc/stat`, or nil.
    public static func parseBootTime(procStat text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return UInt64(line.dropFirst("btime ".count).trimming(" "))
        }
        return nil
    }

    /// The families from already-read values; any nil input leaves its family out.
    public static func families(stat: Stat?, bootTime: UInt64?, maxOpenFiles: Double?, openFiles: Int?,
                                ticksPerSecond: Double, pageSize: Double) -> [MetricFamily] {
        var families: [MetricFamily] = []
        if let stat {
            families.append(MetricFamily(
                name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.",
                type: .counter, value: Double(stat.userTicks + stat.systemTicks) / ticksPerSecond))
        }
        if let openFiles {
            families.append(MetricFamily(
                name: "process_open_fds", help: "Number of open file descriptors.", type: .gauge, value: Double(openFiles)))
        }
        if let maxOpenFiles {
            families.append(MetricFamily(
                name: "process_max_fds", help: "Maximum number of open file descriptors.", type: .gauge, value: maxOpenFiles))
        }
        if let stat {
            families.append(MetricFamily(
                name: "process_resident_memory_bytes", help: "Resident memory size in bytes.",
                type: .gauge, value: Double(stat.residentPages) * pageSize))
        }
        if let stat, let bootTime {
            families.append(MetricFamily(
                name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
                type: .gauge, value: Double(bootTime) + Double(stat.startTicks) / ticksPerSecond))
        }
        return families
    }
}

extension StringProtocol {
    fileprivate func trimming(_ set: Character) -> String {
        var slice = self[...]
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}
