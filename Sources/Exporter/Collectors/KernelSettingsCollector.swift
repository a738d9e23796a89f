import Metrics
import SockDiag

/// Kernel settings that change how fast ports come back: TIME_WAIT reuse and limits.
///
/// One gauge per setting, its unit in the name (as node_exporter names its families): a
/// setting mixes seconds, counts and modes, which one family with a `name` label cannot type.
public struct KernelSettingsCollector: Collector {
    public let name = "kernel"
    public let summary = "sysctls that govern port reuse: tcp_tw_reuse, ip_autobind_reuse, tcp_max_tw_buckets, tcp_fin_timeout"
    private let procSys: String

    /// The family of each sysctl of `KernelSettings.names`.
    public static let families: [String: (name: String, help: String)] = [
        "net.ipv4.tcp_tw_reuse": ("portpressure_kernel_tcp_tw_reuse",
                                  "net.ipv4.tcp_tw_reuse: outgoing connections reuse TIME_WAIT ports 0 never, 1 when timestamps make it safe, 2 on loopback only."),
        "net.ipv4.ip_autobind_reuse": ("portpressure_kernel_ip_autobind_reuse",
                                       "net.ipv4.ip_autobind_reuse: 1 when bind(ip, 0) may hand out a port that SO_REUSEADDR sockets share, 0 when not."),
        "net.ipv4.tcp_max_tw_buckets": ("portpressure_kernel_tcp_max_tw_buckets",
                                        "net.ipv4.tcp_max_tw_buckets: the most TIME_WAIT sockets the kernel keeps; beyond it closing connections skip TIME_WAIT."),
        "net.ipv4.tcp_fin_timeout": ("portpressure_kernel_tcp_fin_timeout_seconds",
                                     "net.ipv4.tcp_fin_timeout: how long an orphaned connection stays in FIN_WAIT2."),
    ]

    public init(procSys: String = "/proc/sys") { self.procSys = procSys }

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        var families: [String: MetricFamily] = [:]
        for scope in scrape.scopes() {
            for setting in scope.kernelSettings(procSys: procSys) {
                guard let known = Self.families[setting.name] else { continue }
                families[known.name, default: MetricFamily(name: known.name, help: known.help, type: .gauge, labelNames: ["netns"])]
                    .append(setting.value, scope.netns)
            }
        }
        return families.keys.sorted().map { families[$0]! }
    }
}
