#if canImport(Glibc)
import Glibc
#endif
import Foundation  // String(format:) only
import SockDiag

/// `portpressure-bench`: run by scripts/bench-portpressure inside `unshare -n`, one private
/// network namespace per socket count. Builds the population with socketlab, then times, side
/// by side and interleaved in one run:
///   - `portpressure report --format json` against `ss -tanH` + `ss -uanH` (issue 2);
///   - one `/metrics` scrape of `portpressure serve` against the count-only SOCK_DIAG floor
///     and against the two ss runs (issue 3);
///   - serve's resident memory over 1,000 scrapes (VmRSS at scrape 1, 100, 1000; VmHWM).
/// Every figure is a median of the repetitions; ratios are of medians from this one run.
/// Processes write stdout to /dev/null: the tools' own work, formatting included, is timed.
@main
struct PortPressureBench {
    struct Options {
        var sockets = 10_000
        var repetitions = 15
        var scrapes = 1000
        var bin = "."
        var port: UInt16 = 9900
        /// Print VmRSS every this many scrapes (0: only at 1, 100 and the last).
        var traceRSS = 0
        /// Only serve's memory with no population: `--idle SCRAPES`.
        var idleScrapes: Int?
        /// Open and close connections while serve's memory is followed (`--churn 1`).
        var churn = false
        /// With N > 0: the every-namespace comparison only (`NamespacesBench.swift`).
        var namespaces = 0
    }

    static func main() {
        var options = Options()
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let flag = arguments.next() {
            guard let value = arguments.next() else { usage("missing value for \(flag)") }
            func number<T: FixedWidthInteger>(_: T.Type) -> T {
                guard let n = T(value) else { usage("bad value \(value.debugDescription) for \(flag)") }
                return n
            }
            switch flag {
            case "--sockets": options.sockets = number(Int.self)
            case "--repetitions": options.repetitions = number(Int.self)
            case "--scrapes": options.scrapes = number(Int.self)
            case "--bin": options.bin = value
            case "--port": options.port = number(UInt16.self)
            case "--trace-rss": options.traceRSS = number(Int.self)
            case "--idle": options.idleScrapes = number(Int.self)
            case "--churn": options.churn = number(Int.self) != 0
            case "--namespaces": options.namespaces = number(Int.self)
            default: usage("unknown flag \(flag)")
            }
        }
        if let scrapes = options.idleScrapes {
            do { try idle(options, scrapes: scrapes) } catch {
                print("portpressure-bench: \(error)")
                exit(1)
            }
            return
        }
        guard options.sockets >= 1000, options.repetitions >= 1, options.scrapes >= 100 else {
            usage("--sockets ≥ 1000, --repetitions ≥ 1, --scrapes ≥ 100")
        }
        do {
            if options.namespaces > 0 { return try runNamespaces(options, namespaces: options.namespaces) }
            try run(options)
        } catch {
            print("portpressure-bench: \(error)")
            exit(1)
        }
    }

    static func usage(_ message: String) -> Never {
        print("portpressure-bench: \(message)\nusage: portpressure-bench --bin DIR [--sockets N] [--repetitions N] [--scrapes N] [--port P] [--trace-rss N] [--churn 1] [--namespaces N] | --bin DIR --idle SCRAPES (inside unshare -n)")
        exit(2)
    }

    /// socketlab command lines for about `total` sockets: per process, 80 % IPv4 TCP
    /// connections over 4 listeners, 16 % IPv6 TCP over 1, 4 % UDP (connected, unconnected,
    /// duplicate 4-tuples). Several processes of at most ~15,000 sockets each, because one
    /// process may not be allowed more than 20,000 descriptors (raising the hard
    /// RLIMIT_NOFILE needs CAP_SYS_RESOURCE, which containers often drop); several
    /// destinations, so the default port range holds 50,000 connections.
    static func populations(total: Int) -> [[String]] {
        let processes = (total + 14_999) / 15_000
        let share = total / processes
        return (0..<processes).map { p in
            let base = 8000 + 10 * p
            var recipes = ["listen:4:127.0.0.1:\(base)", "listen:1:[::1]:\(base + 5)"]
            for i in 0..<4 { recipes.append("tcp:\(share / 10):127.0.0.1:\(base + i)") }   // 4 × 10 % connections = 80 % sockets
            recipes.append("tcp:\(share * 2 / 25):[::1]:\(base + 5)")                      // 16 %
            recipes += ["udp:\(share / 50):127.0.0.1:53", "udp-unconnected:\(share / 100):0.0.0.0:0",
                        "udp-dup:\(share / 200):127.0.0.1:5353"]                             // 2 % + 1 % + 1 %
            return recipes
        }
    }

    /// serve in a namespace holding only its own sockets: VmRSS and VmHWM after `scrapes` scrapes.
    static func idle(_ options: Options, scrapes: Int) throws {
        try runChecked(["ip", "link", "set", "lo", "up"])
        let serve = try startServe(options)
        defer { kill(serve.pid, SIGTERM); _ = serve.wait() }
        let started = try memory(of: serve.pid)
        for _ in 0..<scrapes {
            let reply = try httpGet(port: options.port, path: "/metrics")
            guard reply.status == 200 else { throw BenchError("/metrics answered \(reply.status)") }
        }
        let after = try memory(of: serve.pid)
        print("""

            == idle: serve in an empty private network namespace
               serve memory   VmRSS  started: \(mib(started.rss))   after \(scrapes) scrapes: \(mib(after.rss))   VmHWM \(mib(after.peak))
               issue 15 peak RSS (VmHWM) idle         \(mib(after.peak))   target ≤ 16 MiB   \(verdict(after.peak <= 16 << 20))
            """)
    }

    /// Starts `portpressure serve` on 127.0.0.1:port (`options.port` unless given), with
    /// `extraArguments` after the common ones, and waits until it answers.
    static func startServe(_ options: Options, port: UInt16? = nil, extraArguments: [String] = []) throws -> ChildProcess {
        let port = port ?? options.port
        let serve = try ChildProcess.spawn([options.bin + "/portpressure", "serve", "--web.listen-address", "127.0.0.1:\(port)", "--log.level", "error"]
                                           + extraArguments)
        for _ in 0..<500 {
            if let reply = try? httpGet(port: port, path: "/-/healthy"), reply.status == 200 { return serve }
            usleep(20_000)
        }
        kill(serve.pid, SIGTERM)
        _ = serve.wait()
        throw BenchError("serve did not come up on 127.0.0.1:\(port)")
    }

    static func run(_ options: Options) throws {
        let portpressure = options.bin + "/portpressure", socketlab = options.bin + "/socketlab"
        // The namespace is fresh: loopback down. Bring it up; keep the default port range.
        try runChecked(["ip", "link", "set", "lo", "up"])
        let range = try readFile("/proc/sys/net/ipv4/ip_local_port_range").split(whereSeparator: { $0 == "\t" || $0 == " " || $0 == "\n" })

        let buildStart = monotonicSeconds()
        var labs: [ChildProcess] = []
        var made: [String] = []
        defer {
            for i in labs.indices { labs[i].closeStdin(); _ = labs[i].wait() }
        }
        for recipes in populations(total: options.sockets) {
            labs.append(try ChildProcess.spawn([socketlab] + recipes.flatMap { ["--make", $0] }, stdin: .pipe, stdout: .pipe))
            let ready = try labs[labs.count - 1].readLine(startingWith: "READY")
            made.append(String(ready.dropFirst("READY ".count)))
        }
        let buildSeconds = monotonicSeconds() - buildStart

        let serve = try startServe(options)
        var serveStatus: Int32?
        defer { if serveStatus == nil { kill(serve.pid, SIGTERM); _ = serve.wait() } }

        let floor = try CountOnlyFloor()
        let perFamilyFloor = try CountOnlyFloor(queries: DumpQuery.everySocket)
        let ssFloor = try CountOnlyFloor(queries: DumpQuery.everySocket, ssStates: true)
        let counted = try floor.measure().sockets
        print("""

            == \(format(counted)) sockets in a private network namespace, built in \(String(format: "%.1f", buildSeconds)) s by \(made.count) socketlab process(es): \(made[0])\(made.count > 1 ? ", …" : "")
               port range \(range.joined(separator: "-")); \(options.repetitions) interleaved repetitions; medians; stdout of every tool to /dev/null
            """)

        // Scrape 1 (and its memory) before anything else.
        var scrapes = 0
        func scrape() throws -> Run {
            let cpuStart = try cpuSeconds(of: serve.pid)
            let start = monotonicSeconds()
            let reply = try httpGet(port: options.port, path: "/metrics")
            let wall = monotonicSeconds() - start
            guard reply.status == 200 else { throw BenchError("/metrics answered \(reply.status)") }
            scrapes += 1
            return Run(wallSeconds: wall, cpuSeconds: try cpuSeconds(of: serve.pid) - cpuStart)
        }
        _ = try scrape()
        let afterFirst = try memory(of: serve.pid)

        // Warm-up: one of each, not counted.
        _ = try timedRun(["ss", "-tanH"]); _ = try timedRun(["ss", "-uanH"])
        _ = try timedRun([portpressure, "report", "--format", "json"]); _ = try floor.measure(); _ = try perFamilyFloor.measure(); _ = try ssFloor.measure()

        var ssTCP: [Run] = [], ssUDP: [Run] = [], report: [Run] = [], floors: [Run] = [], perFamilyFloors: [Run] = [], ssFloors: [Run] = [], scrapeRuns: [Run] = []
        for _ in 0..<options.repetitions {
            ssTCP.append(try timedRun(["ss", "-tanH"]))
            ssUDP.append(try timedRun(["ss", "-uanH"]))
            report.append(try timedRun([portpressure, "report", "--format", "json"]))
            floors.append(try floor.measure().run)
            perFamilyFloors.append(try perFamilyFloor.measure().run)
            ssFloors.append(try ssFloor.measure().run)
            scrapeRuns.append(try scrape())
        }

        // Issue 2's ratio and the memory cap are set at 100,000 sockets; elsewhere they inform.
        let atScale = options.sockets < 95_000 ? " (target set at 100,000 sockets)" : ""
        let at100k = options.sockets < 95_000 ? " (target set at 100,000 and 300,000 sockets)" : ""
        let ssPair = zip(ssTCP, ssUDP).map { Run(wallSeconds: $0.wallSeconds + $1.wallSeconds, cpuSeconds: $0.cpuSeconds + $1.cpuSeconds) }
        let ssWall = median(ssPair.map(\.wallSeconds)), ssCPU = median(ssPair.map(\.cpuSeconds))
        let reportWall = median(report.map(\.wallSeconds)), reportCPU = median(report.map(\.cpuSeconds))
        let floorWall = median(floors.map(\.wallSeconds)), floorCPU = median(floors.map(\.cpuSeconds))
        let scrapeWall = median(scrapeRuns.map(\.wallSeconds))

        // Memory over 1,000 scrapes (the timed ones count). VmRSS is sampled every 10 scrapes
        // from scrape 100 on; "growth" compares the largest sample of the second half with
        // the largest of the first half, so that the allocator's ups and downs between two
        // levels are not taken for a leak while a steady climb is caught.
        var at100: (rss: Int, peak: Int)?
        var samples: [(scrape: Int, rss: Int)] = []
        // With --churn, a socketlab process opens and closes connections meanwhile.
        var churner: ChildProcess?
        if options.churn {
            churner = try ChildProcess.spawn([socketlab, "--make", "listen:1:127.0.0.1:7999", "--churn", "127.0.0.1:7999"], stdin: .pipe, stdout: .pipe)
            _ = try churner!.readLine(startingWith: "READY")
        }
        // serve's CPU per scrape, over these back-to-back scrapes (clock ticks: a long batch).
        let loopStart = scrapes, cpuBefore = try cpuSeconds(of: serve.pid)
        while scrapes < options.scrapes {
            _ = try scrape()
            if scrapes == 100 { at100 = try memory(of: serve.pid) }
            if scrapes >= 100 && scrapes % 10 == 0 { samples.append((scrapes, try memory(of: serve.pid).rss)) }
            if options.traceRSS > 0 && scrapes % options.traceRSS == 0 {
                let m = try memory(of: serve.pid)
                print("   trace  scrape \(scrapes): VmRSS \(mib(m.rss)), VmHWM \(mib(m.peak))")
            }
        }
        let serveCPUPerScrape = (try cpuSeconds(of: serve.pid) - cpuBefore) / Double(max(1, scrapes - loopStart))
        var churned = ""
        if var process = churner {
            process.closeStdin()
            churned = (try? process.readLine(startingWith: "CHURNED")).map { "   with churn: \($0.dropFirst("CHURNED ".count)) TCP + UDP connections opened and closed during scrapes \(loopStart + 1)–\(scrapes)\n" } ?? ""
            _ = process.wait()
        }
        let atEnd = try memory(of: serve.pid)
        let half = (100 + scrapes) / 2
        let firstMax = samples.filter { $0.scrape <= half }.map(\.rss).max() ?? 0
        let secondMax = samples.filter { $0.scrape > half }.map(\.rss).max() ?? 0
        // Too few scrapes for two halves of samples (fewer than ~120): no growth to compare.
        let growth = firstMax > 0 && secondMax > 0 ? secondMax - firstMax : 0
        print("""
               ss -tanH                      \(ms(median(ssTCP.map(\.wallSeconds))))   cpu \(ms(median(ssTCP.map(\.cpuSeconds))))
               ss -uanH                      \(ms(median(ssUDP.map(\.wallSeconds))))   cpu \(ms(median(ssUDP.map(\.cpuSeconds))))
               ss -tanH + ss -uanH           \(ms(ssWall))   cpu \(ms(ssCPU))
               report --format json          \(ms(reportWall))   cpu \(ms(reportCPU))
               count-only floor (3 dumps)    \(ms(floorWall))   cpu \(ms(floorCPU))   ← portpressure's own requests
                 (4 per-family dumps)         \(ms(median(perFamilyFloors.map(\.wallSeconds))))   cpu \(ms(median(perFamilyFloors.map(\.cpuSeconds))))   ← informational
                 (the same, ss's TCP states)  \(ms(median(ssFloors.map(\.wallSeconds))))   cpu \(ms(median(ssFloors.map(\.cpuSeconds))))   ← no bound-inactive walk; informational
               /metrics scrape (HTTP)        \(ms(scrapeWall))   serve cpu \(ms(serveCPUPerScrape)) (mean of scrapes \(loopStart + 1)–\(scrapes))

               issue 2  (ss pair) / report             \(ratio(ssWall / reportWall))   target > 1.00×   \(verdict(ssWall > reportWall))\(atScale)   (cpu \(ratio(ssCPU / reportCPU)))
               issue 3  scrape / floor                 \(ratio(scrapeWall / floorWall))   target ≤ 1.30×   \(verdict(scrapeWall <= 1.3 * floorWall))   (cpu \(ratio(serveCPUPerScrape / floorCPU)))
               issue 3  (ss pair) / scrape             \(ratio(ssWall / scrapeWall))   target ≥ 1.50×   \(verdict(ssWall >= 1.5 * scrapeWall))   (cpu \(ratio(ssCPU / serveCPUPerScrape)))
               issue 15 scrape / floor                 \(ratio(scrapeWall / floorWall))   target ≤ 1.10×   \(verdict(scrapeWall <= 1.1 * floorWall))\(at100k)   (cpu \(ratio(serveCPUPerScrape / floorCPU)))
               issue 15 (ss pair) / scrape             \(ratio(ssWall / scrapeWall))   target ≥ 2.00×   \(verdict(ssWall >= 2 * scrapeWall))\(at100k)   (cpu \(ratio(ssCPU / serveCPUPerScrape)))
            """)

        print("""

               serve memory   VmRSS  scrape 1: \(mib(afterFirst.rss))   scrape 100: \(at100.map { mib($0.rss) } ?? "-")   scrape \(scrapes): \(mib(atEnd.rss))   VmHWM \(mib(atEnd.peak))
                              largest VmRSS sampled every 10 scrapes: 100–\(half) \(mib(firstMax)), \(half)–\(scrapes) \(mib(secondMax))
            \(churned)   issue 3  peak RSS (VmHWM)               \(mib(atEnd.peak))   target ≤ 64 MiB   \(verdict(atEnd.peak <= 64 << 20))\(atScale)
               issue 3  RSS growth over the scrapes    \(String(format: "%+.2f MiB", Double(growth) / 1048576))   target: none (≤ +0.5 MiB)   \(verdict(growth <= 512 << 10))
               issue 15 peak RSS (VmHWM)               \(mib(atEnd.peak))   target ≤ 32 MiB   \(verdict(atEnd.peak <= 32 << 20))\(options.sockets < 295_000 ? " (target set at 300,000 sockets)" : "")
            """)

        kill(serve.pid, SIGTERM)
        serveStatus = serve.wait().status
        if serveStatus != 0 { print("   (serve exited \(serveStatus!) on SIGTERM)") }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
    static func ms(_ seconds: Double) -> String { String(format: "%8.2f ms", seconds * 1000) }
    static func ratio(_ value: Double) -> String { String(format: "%5.2f×", value) }
    static func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1048576) }
    static func verdict(_ met: Bool) -> String { met ? "MET" : "MISSED" }
    static func format(_ n: Int) -> String {
        var digits = Array(String(n)), out = ""
        while digits.count > 3 { out = "," + String(digits.suffix(3)) + out; digits.removeLast(3) }
        return String(digits) + out
    }
}
