// What discovery of every network namespace costs at each scrape (issue 10): a scan of /proc
// and the bind-mount folders, the refresh of per-namespace handles (first pass: every
// namespace entered; later passes: none), and reading each namespace's counts, range and
// settings through its kept handle. It starts its own population: plain `sleep`s, and
// `unshare -n sleep`s, one per new anonymous namespace; it never touches the host's settings.
// Run it with Benchmarks/NamespaceDiscoveryBenchmark.sh (root).
#if canImport(Glibc)
import Glibc
#endif
import NetworkNamespaces

struct Settings {
    var processes = 2000
    var namespaces = 50
    var passes = 200
}

func parseArguments() -> Settings {
    var settings = Settings()
    var arguments = CommandLine.arguments.dropFirst()
    func fail(_ message: String) -> Never {
        printError("NamespaceDiscoveryBenchmark: \(message)\nusage: NamespaceDiscoveryBenchmark [--processes N] [--namespaces N] [--passes N]")
        exit(2)
    }
    while let argument = arguments.popFirst() {
        guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else { fail("\(argument) wants a positive number") }
        switch argument {
        case "--processes": settings.processes = value
        case "--namespaces": settings.namespaces = value
        case "--passes": settings.passes = value
        default: fail("unknown argument \(argument)")
        }
    }
    if settings.namespaces > settings.processes { fail("--namespaces cannot exceed --processes") }
    return settings
}

/// Starts `arguments` with stdin, stdout and stderr on /dev/null; its PID. Not TestSupport's
/// RunningProcess: it keeps two reader threads per child, 4,000 threads for this population.
func spawn(_ arguments: [String]) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
    guard rc == 0 else {
        printError("posix_spawnp \(arguments[0]): \(String(cString: strerror(rc)))")
        exit(1)
    }
    return pid
}

func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Milliseconds with three decimals.
func milliseconds(_ duration: Duration) -> String {
    let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    let fraction = String(microseconds % 1000)
    return "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction + " ms"
}

func summary(_ samples: [Duration]) -> String {
    let sorted = samples.sorted()
    let median = milliseconds(sorted[sorted.count / 2])
    let p90 = milliseconds(sorted[min(sorted.count - 1, sorted.count * 9 / 10)])
    return "median \(median), p90 \(p90) (\(samples.count) passes)"
}

let settings = parseArguments()
let clock = ContinuousClock()
let before = NamespaceScanner().scan()

// The population: sleeps bounded to 10 minutes, so nothing outlives a crashed run for long.
var children: [pid_t] = []
for _ in 0..<settings.namespaces { children.append(spawn(["unshare", "--net", "sleep", "600"])) }
for _ in 0..<(settings.processes - settings.namespaces) { children.append(spawn(["sleep", "600"])) }
defer {
    for pid in children { kill(pid, SIGTERM) }
    for pid in children { var status: Int32 = 0; while waitpid(pid, &status, 0) < 0 && errno == EINTR {} }
}

// Wait (bounded, 60 s) until every unshare has exec'd sleep inside its new namespace.
var inventory = NamespaceScanner().scan()
for _ in 0..<6000 where inventory.namespaces.count < before.namespaces.count + settings.namespaces {
    usleep(10_000)  // nothing signals another process's unshare(); poll
    inventory = NamespaceScanner().scan()
}
let visibleProcesses = inventory.namespaces.map(\.processCount).reduce(0, +)
print("population: \(visibleProcesses) processes seen, \(inventory.namespaces.count) namespaces "
    + "(\(settings.namespaces) made here), \(inventory.unreadable) unreadable entries")

var scans: [Duration] = []
for _ in 0..<settings.passes {
    let start = clock.now
    inventory = NamespaceScanner().scan()
    scans.append(clock.now - start)
}
print("scan:                     \(summary(scans))")

let handles = NamespaceHandles()
let firstStart = clock.now
let first = handles.refresh(inventory)
let firstRefresh = clock.now - firstStart
print("first refresh:            \(milliseconds(firstRefresh)) for \(first.opened.count) namespaces entered (\(first.failures.count) failed)")

var steady: [Duration] = []
for _ in 0..<settings.passes {
    let start = clock.now
    handles.refresh(inventory)
    steady.append(clock.now - start)
}
print("later refresh (no change): \(summary(steady))")

let kept = handles.namespaces.compactMap(handles.handle)
func timeEachHandle(_ label: String, _ read: (NamespaceHandle) -> Void) {
    var samples: [Duration] = []
    for _ in 0..<settings.passes {
        let start = clock.now
        for handle in kept { read(handle) }
        samples.append(clock.now - start)
    }
    print("\(label) of all \(kept.count) handles: \(summary(samples))")
}
var sockets = 0
timeEachHandle("socket counts (sockstat) ") { sockets += (try? $0.socketCounts()).map { $0.tcp + $0.udp } ?? 0 }
timeEachHandle("range                    ") { _ = try? $0.range() }
timeEachHandle("kernel settings          ") { _ = $0.kernelSettings() }
print("(\(sockets / settings.passes) sockets counted per pass)")

var whole: [Duration] = []
for _ in 0..<settings.passes {
    let start = clock.now
    let fresh = NamespaceScanner().scan()
    handles.refresh(fresh)
    for id in handles.namespaces { _ = try? handles.handle(for: id)?.socketCounts() }
    whole.append(clock.now - start)
}
print("scan + refresh + counts:  \(summary(whole))")
