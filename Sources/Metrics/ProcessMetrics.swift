#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The standard `process_*` metrics of the running process, read from `/proc/self` (Linux).
///
/// The parsing lives in pure functions (`parseStat`, `parseMaxOpenFiles`, `parseBootTime`)
/// tested on recorded text; `collect()` only reads the files and assembles families. A value
/// that cannot be read is left out rather than reported as 0.
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

    /// Reads `/proc/self/stat`, `/proc/self/limits`, `/proc/stat` and `/proc/self/fd` and
    /// returns the families that could be read.
    public static func collect() -> [MetricFamily] {
        families(
            stat: readFile("/proc/self/stat").flatMap(parseStat),
            bootTime: readFile("/proc/stat").flatMap(parseBootTime),
            maxOpenFiles: readFile("/proc/self/limits").flatMap(parseMaxOpenFiles),
            openFiles: countOpenFiles(),
            ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
            pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
    }

    // MARK: I/O

    /// Reads a (small, procfs) file whole with open(2)/read(2), or nil on any error.
    static func readFile(_ path: String) -> String? {
        let fd = retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { buffer in retryingEINTR { read(fd, buffer.baseAddress, buffer.count) } }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The entries of `/proc/self/fd`, not counting the descriptor used to list them.
    static func countOpenFiles() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != "..", Int32(name) != own else { continue }
            count += 1
        }
        return count
    }

    private static func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
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
