import Metrics
import SockDiag

/// Kernel settings that change how fast ports come back: TIME_WAIT reuse and limits.
public struct KernelSettingsCollector: Collector {
    public let name = "kernel"
    public let summary = "sysctls that govern port reuse: tcp_tw_reuse, ip_autobind_reuse, tcp_max_tw_buckets, tcp_fin_timeout"
    private let procSys: String

    public init(procSys: String = "/proc/sys") { self.procSys = procSys }

    public func collect(_ scrape: Scrape) throws -> [MetricFamily] {
        var family = MetricFamily(name: "portpressure_kernel_setting",
                                  help: "Kernel settings that govern ephemeral port reuse, by sysctl name (those the kernel has).",
                                  type: .gauge, labelNames: ["netns", "name"])
        for scope in scrape.scopes() {
            for setting in scope.kernelSettings(procSys: procSys) {
                family.append(setting.value, scope.netns, setting.name)
            }
        }
        return [family]
    }
}
