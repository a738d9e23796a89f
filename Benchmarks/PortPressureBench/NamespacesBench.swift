#if canImport(Glibc)
import Glibc
#endif
import Foundation  // String(format:) only

/// `--namespaces N` (issue 10): the bench namespace stands for the host, with `--sockets`
/// sockets; N more namespaces (`ip netns add pp-bench-<i>`, deleted at the end) hold 50 to
/// 2,000 sockets each, two of them above 80% of a narrowed range. Times a `/metrics` scrape of
/// `serve --collector.netns` against the single-namespace scrape of the same host, interleaved,
/// and checks the two hot namespaces got exact figures.
extension PortPressureBench {
    static func runNamespaces(_ options: Options, namespaces count: Int) throws {
        let socketlab = options.bin + "/socketlab"
        try runChecked(["ip", "link", "set", "lo", "up"])
        let buildStart = monotonicSeconds()
        var labs: [ChildProcess] = []
        var names: [String] = []
        defer {
            for i in labs.indices { labs[i].closeStdin(); _ = labs[i].wait() }
            for name in names { _ = try? ChildProcess.spawn(["ip", "netns", "delete", name]).wait() }
        }
        func lab(_ prefix: [String], _ recipes: [String]) throws {
            labs.append(try ChildProcess.spawn(prefix + [socketlab] + recipes.flatMap { ["--make", $0] }, stdin: .pipe, stdout: .pipe))
            _ = try labs[labs.count - 1].readLine(startingWith: "READY")
        }
        for recipes in populations(total: options.sockets) { try lab([], recipes) }
        var hot: [String] = []
        for i in 0..<count {
            let name = "pp-bench-\(getpid())-\(i)"
            try runChecked(["ip", "netns", "add", name])
            names.append(name)
            let exec = ["ip", "netns", "exec", name]
            try runChecked(exec + ["ip", "link", "set", "lo", "up"])
            if i < 2 {
                // Hot: 850 connections to one destination in a range of 1,000 ports (85%), 1,701 sockets.
                try runChecked(exec + ["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40999"])
                try lab(exec, ["listen:1:127.0.0.1:8080", "tcp:850:127.0.0.1:8080"])
                hot.append(name)
            } else {
                // 50 to 2,000 sockets (each connection is two), default range: a bound.
                let connections = 25 + (i * 975 / max(1, count - 1))
                try lab(exec, ["listen:1:127.0.0.1:8080", "tcp:\(connections - 1):127.0.0.1:8080"])
            }
        }
        let buildSeconds = monotonicSeconds() - buildStart
        var hotInodes: [String] = []
        for name in hot {
            var info = stat()
            guard stat("/run/netns/" + name, &info) == 0 else { throw BenchError("stat /run/netns/\(name)") }
            hotInodes.append(String(info.st_ino))
        }

        let single = try startServe(options)
        defer { kill(single.pid, SIGTERM); _ = single.wait() }
        let all = try startServe(options, port: options.port + 1, extraArguments: ["--collector.netns"])
        defer { kill(all.pid, SIGTERM); _ = all.wait() }
        func scrape(_ port: UInt16) throws -> Double {
            let start = monotonicSeconds()
            let reply = try httpGet(port: port, path: "/metrics")
            guard reply.status == 200 else { throw BenchError("/metrics on \(port) answered \(reply.status)") }
            return monotonicSeconds() - start
        }
        // First scrapes (handles are made here), then the figures of one scrape with every namespace.
        _ = try scrape(options.port)
        _ = try scrape(options.port + 1)
        let text = try httpGet(port: options.port + 1, path: "/metrics", keepBody: true).text
        func value(_ series: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.map { String($0.split(separator: " ").last!) }
        }
        var singles: [Double] = [], alls: [Double] = []
        for _ in 0..<options.repetitions {
            singles.append(try scrape(options.port))
            alls.append(try scrape(options.port + 1))
        }
        let singleWall = median(singles), allWall = median(alls)
        let exact = hotInodes.map { value("portpressure_netns_figures_exact{netns=\"\($0)\",proto=\"tcp\"}") == "1" }
        let pressures = hotInodes.map { value("portpressure_netns_pressure_ratio{netns=\"\($0)\",proto=\"tcp\"}") ?? "-" }
        print("""

            == every namespace: this namespace with \(format(options.sockets)) sockets + \(count) namespaces (50–2,000 sockets each; \
            two at 85% of a 1,000-port range), built in \(String(format: "%.1f", buildSeconds)) s
               namespaces discovered: \(value("portpressure_netns_namespaces") ?? "-") (the machine's others included), \
            exported \(value("portpressure_netns_exported_namespaces") ?? "-"); \(options.repetitions) interleaved repetitions; medians
               /metrics scrape, own namespace only     \(ms(singleWall))
               /metrics scrape, --collector.netns      \(ms(allWall))
               hot namespaces \(hotInodes.joined(separator: ", ")): exact TCP figures \(exact.map { $0 ? "yes" : "NO" }.joined(separator: ", ")), \
            pressure \(pressures.joined(separator: ", "))

               issue 10  netns scrape / single scrape  \(ratio(allWall / singleWall))   target ≤ 2.00×   \(verdict(allWall <= 2 * singleWall))
               issue 10  exact figures for the two hot namespaces                 \(verdict(exact.allSatisfy { $0 }))
            """)
    }
}
