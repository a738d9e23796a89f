import SystemCalls

/// A sysctl and its value.
public struct KernelSetting: Sendable, Hashable {
    /// The dotted name, `net.ipv4.tcp_tw_reuse`.
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// Kernel settings that shape ephemeral-port pressure, read from `/proc/sys` of the calling
/// thread's network namespace.
public enum KernelSettings {
    /// The sysctls read, in order: TIME_WAIT reuse for outgoing connections, port reuse by
    /// `bind(ip, 0)`, the TIME_WAIT table cap, and how long orphaned FIN_WAIT2 sockets stay.
    public static let names = [
        "net.ipv4.tcp_tw_reuse",
        "net.ipv4.ip_autobind_reuse",
        "net.ipv4.tcp_max_tw_buckets",
        "net.ipv4.tcp_fin_timeout",
    ]

    /// Each setting of `names` that exists and holds one number, with its value; settings the
    /// kernel lacks (or that cannot be read) are left out.
    public static func current(procSys: String = "/proc/sys") -> [KernelSetting] {
        var settings: [KernelSetting] = []
        for name in names {
            guard let text = try? WholeFile.text(path(of: name, procSys: procSys)), let value = value(text) else { continue }
            settings.append(KernelSetting(name: name, value: value))
        }
        return settings
    }

    /// `/proc/sys/net/ipv4/tcp_tw_reuse` for `net.ipv4.tcp_tw_reuse`.
    public static func path(of name: String, procSys: String = "/proc/sys") -> String {
        procSys + "/" + name.split(separator: ".").joined(separator: "/")
    }

    /// The number a one-number sysctl file holds, nil when it holds anything else.
    public static func value(_ text: String) -> Double? {
        Double(text.trimmingSurrounding([" ", "\t", "\n"]))
    }
}

extension String {
    func trimmingSurrounding(_ set: Set<Character>) -> String {
        guard let first = firstIndex(where: { !set.contains($0) }),
              let last = lastIndex(where: { !set.contains($0) }) else { return "" }
        return String(self[first...last])
    }
}
