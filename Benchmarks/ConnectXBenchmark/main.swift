// UDP ConnectX latency at 0%, 50% and 90% occupancy of a 1,000- and a 28,000-port range,
// taken ports spread at random or packed in one block, the other ports either free or held
// by sockets connected elsewhere (so ConnectX must share one), next to a plain UDP connect()
// in the same run. Then TCP with a source address against a plain bind() + connect(), and
// `portpressure connect` against the library call per connection (with --portpressure). Everything runs on the thread of a private network namespace it makes itself
// (it rewrites that namespace's port range and opens tens of thousands of sockets there).
// Run it with Benchmarks/ConnectXBenchmark.sh (root).
#if canImport(Glibc)
import Glibc
#endif
import ConnectX
import SockDiag
import SocketModel
import SystemCalls
import TestSupport

let destination = ConnectX.Endpoint(parsing: "127.0.0.2:5353")!
/// Where "held" ports' occupants are connected: they hold the port without taking the
/// destination's 4-tuple, so ConnectX may share it but the kernel has no unheld port to give.
let elsewhere = ConnectX.Endpoint(parsing: "127.0.0.3:5353")!
let tcpDestination = ConnectX.Endpoint(parsing: "127.0.0.2:5354")!
let source = ConnectX.Endpoint(parsing: "127.0.0.1:0")!
let rangeLow = 20000

// MARK: - Arguments

struct Settings {
    /// Child mode: create the occupants listed in this file, say READY, hold them until stdin closes.
    var occupyFile: String?
    var iterations = 1000
    var ranges = [1000, 28000]
    var occupancies = [0, 50, 90]
    /// `portpressure` to time `portpressure connect` with; nil skips that measurement.
    var portpressure: String?
}

func parseArguments() -> Settings {
    var settings = Settings()
    var arguments = CommandLine.arguments.dropFirst()
    func fail(_ message: String) -> Never {
        printError("ConnectXBenchmark: \(message)\nusage: ConnectXBenchmark [--iterations N] [--ranges 1000,28000] [--occupancies 0,50,90] [--portpressure PATH]")
        exit(2)
    }
    func list(_ text: String?) -> [Int] {
        guard let text, case let values = text.split(separator: ",").compactMap({ Int($0) }), !values.isEmpty else { fail("bad list \(text ?? "")") }
        return values
    }
    while let argument = arguments.popFirst() {
        switch argument {
        case "--iterations":
            guard let value = arguments.popFirst().flatMap({ Int($0) }), value >= 10 else { fail("--iterations wants a number >= 10") }
            settings.iterations = value
        case "--occupy":
            guard let file = arguments.popFirst() else { fail("--occupy wants a file") }
            settings.occupyFile = file
        case "--portpressure":
            guard let path = arguments.popFirst() else { fail("--portpressure wants a path") }
            settings.portpressure = path
        case "--ranges": settings.ranges = list(arguments.popFirst())
        case "--occupancies": settings.occupancies = list(arguments.popFirst())
        default: fail("unknown argument \(argument)")
        }
    }
    guard settings.ranges.allSatisfy({ $0 >= 10 && rangeLow + $0 <= 65536 }) else { fail("ranges must fit in \(rangeLow)-65535") }
    guard settings.occupancies.allSatisfy({ (0...95).contains($0) }) else { fail("occupancies are percentages 0...95") }
    return settings
}

// MARK: - The namespace

/// A line on standard error, unbuffered.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

func fatal(_ message: String) -> Never {
    printError("ConnectXBenchmark: \(message)")
    exit(1)
}

// MARK: - Occupants: sockets shaped like ConnectX's own (SO_REUSEADDR, bound, connected)

/// One occupant per (port, peer): bound to the source address and the port, connected to the peer.
func occupy(_ ports: [(port: Int, peer: ConnectX.Endpoint)]) -> [CInt] {
    var fds: [CInt] = []
    fds.reserveCapacity(ports.count)
    var one: CInt = 1
    for (port, peer) in ports {
        let fd = socket(AF_INET, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { fatal("socket: \(String(cString: strerror(errno))) (raise the descriptor limit)") }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        guard withSockaddr(ConnectX.Endpoint(address: source.address, port: UInt16(port)), { bind(fd, $0, $1) }) == 0,
              withSockaddr(peer, { connect(fd, $0, $1) }) == 0 else {
            fatal("occupant on port \(port): \(String(cString: strerror(errno)))")
        }
        fds.append(fd)
    }
    return fds
}

func withSockaddr(_ endpoint: ConnectX.Endpoint, _ body: (UnsafePointer<sockaddr>, socklen_t) -> CInt) -> CInt {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = endpoint.port.bigEndian
    address.sin_addr.s_addr = UInt32(endpoint.address.ipv4Value!).bigEndian
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

// MARK: - Measurement

func microseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
}

struct Summary {
    var median: Double
    var p90: Double
    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        median = sorted[sorted.count / 2]
        p90 = sorted[min(sorted.count - 1, sorted.count * 9 / 10)]
    }
}

struct Point {
    var range: Int
    var occupancy: Int
    var fill: String
    var connectx: Summary
    var connectxWithSource: Summary
    var plain: Summary
    var lookups: Summary
    var meanLookups: Double
    var dumps: Int
    var oneDump: Summary
}

/// One ConnectX call (timed), then one plain connect() (timed), alternating, so both see the
/// same occupancy, caches and machine load. Sockets are closed outside the timing.
func measure(range: Int, occupancy: Int, fill: String, iterations: Int, client: SockDiagClient) -> Point {
    let clock = ContinuousClock()
    let options = ConnectOptions(sockDiag: client)
    var connectx: [Double] = [], withSource: [Double] = [], plain: [Double] = [], lookups: [Double] = []
    var dumps = 0
    let warmup = iterations / 10
    func timePlainConnect() -> Duration {
        let plainStart = clock.now
        let fd = socket_(AF_INET, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue))
        let connected = withSockaddr(destination) { connect(fd, $0, $1) }
        let plainTime = clock.now - plainStart
        guard fd >= 0, connected == 0 else { fatal("plain connect at \(occupancy)% of \(range): \(String(cString: strerror(errno)))") }
        close(fd)
        return plainTime
    }
    // With every port held, a plain connect() has none to bind (EAGAIN): not measured. With
    // ports taken, the kernel's walk in a plain connect() (milliseconds through a block of
    // taken ports) evicts the caches and would be charged to the ConnectX call after it: timed
    // in a loop of its own, after ConnectX's. At 0% (the ratio's baseline) calls alternate.
    let measurePlain = !fill.hasSuffix("held")
    let interleavePlain = measurePlain && occupancy == 0
    for i in 0..<(warmup + iterations) {
        let start = clock.now
        let socket: ConnectedSocket
        do { socket = try ConnectX.connect(to: destination, protocol: .udp, options: options) } catch {
            fatal("connectx at \(occupancy)% of \(range): \(error)")
        }
        let connectxTime = clock.now - start
        let cost = socket.searchCost!
        socket.close()

        let sourced = clock.now
        do { try ConnectX.connect(to: destination, from: source, protocol: .udp, options: options).close() } catch {
            fatal("connectx with source at \(occupancy)% of \(range): \(error)")
        }
        let sourcedTime = clock.now - sourced

        var plainTime = Duration.zero
        if interleavePlain { plainTime = timePlainConnect() }

        if i >= warmup {
            connectx.append(microseconds(connectxTime))
            withSource.append(microseconds(sourcedTime))
            if interleavePlain { plain.append(microseconds(plainTime)) }
            lookups.append(Double(cost.lookups))
            dumps += cost.dumps
        }
    }
    if measurePlain && !interleavePlain {
        for i in 0..<(warmup + iterations) {
            let plainTime = timePlainConnect()
            if i >= warmup { plain.append(microseconds(plainTime)) }
        }
    }
    if plain.isEmpty { plain = [0] }
    // What a search built on one dump per call would pay at this point, at the least.
    let filter = SocketFilter.any([.localAddress(source.address), .localAddress(.ipv4Any)])
    var dumpTimes: [Double] = []
    for _ in 0..<max(10, iterations / 50) {
        let start = clock.now
        do { try client.dump(DumpQuery(proto: .udp, family: .ipv4, filter: filter)) { _ in } } catch { fatal("dump: \(error)") }
        dumpTimes.append(microseconds(clock.now - start))
    }
    return Point(range: range, occupancy: occupancy, fill: fill, connectx: Summary(connectx),
                 connectxWithSource: Summary(withSource), plain: Summary(plain), lookups: Summary(lookups),
                 meanLookups: lookups.reduce(0, +) / Double(lookups.count), dumps: dumps, oneDump: Summary(dumpTimes))
}

func socket_(_ family: CInt, _ type: CInt) -> CInt { socket(family, type, 0) }

// MARK: - Report

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    var text = String(Int((value * pow(10, Double(digits))).rounded()))
    if digits > 0 {
        while text.count <= digits { text = "0" + text }
        text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
    }
    return text
}

func printTable(_ points: [Point], iterations: Int) {
    print("UDP ConnectX toward \(destination), \(iterations) calls per point after warm-up; times in microseconds.")
    print("connectx: no source given (routing finds it); +source: source address given; plain: socket() + connect().")
    print("fill: taken ports (toward the destination) spread at random or in one block; the rest free, or held by sockets")
    print("connected elsewhere (ConnectX must share a port: no plain connect() can succeed there, so none is timed).")
    print("ratio: connectx / plain, median and p90. lookups: SOCK_DIAG exact lookups per call (median, mean).")
    print("dumps: fallback dumps over all calls. one dump: the cost of a single filtered dump of the source's sockets.")
    print("")
    let header = [pad("range", 6), pad("occ", 4), pad("fill", 16), pad("connectx med", 13), pad("p90", 7),
                  pad("+source med", 12), pad("p90", 7), pad("plain med", 10), pad("p90", 6),
                  pad("ratio med", 10), pad("p90", 6), pad("lookups", 8), pad("mean", 6), pad("dumps", 6), pad("one dump", 9)]
    print(header.joined(separator: " "))
    for p in points {
        let row = [pad("\(p.range)", 6), pad("\(p.occupancy)%", 4), pad(p.fill, 16),
                   pad(format(p.connectx.median), 13), pad(format(p.connectx.p90), 7),
                   pad(format(p.connectxWithSource.median), 12), pad(format(p.connectxWithSource.p90), 7),
                   pad(p.plain.median > 0 ? format(p.plain.median) : "-", 10), pad(p.plain.median > 0 ? format(p.plain.p90) : "-", 6),
                   pad(p.plain.median > 0 ? format(p.connectx.median / p.plain.median) : "-", 10),
                   pad(p.plain.median > 0 ? format(p.connectx.p90 / p.plain.p90) : "-", 6),
                   pad(format(p.lookups.median, 0), 8), pad(format(p.meanLookups), 6), pad("\(p.dumps)", 6),
                   pad(format(p.oneDump.median, 0), 9)]
        print(row.joined(separator: " "))
    }
    print("")
    print("Occupancy effect: connectx median / the 0% median of the same range, the rest free or held alike (target <= 2.0 at 90%).")
    print([pad("range", 6), pad("occ", 4), pad("fill", 16), pad("median", 7)].joined(separator: " "))
    for p in points where p.occupancy > 0 {
        let rest = p.fill.hasSuffix("held") ? "held" : "free"
        guard let zero = points.first(where: { $0.range == p.range && $0.occupancy == 0 && $0.fill == rest }) else { continue }
        print([pad("\(p.range)", 6), pad("\(p.occupancy)%", 4), pad(p.fill, 16), pad(format(p.connectx.median / zero.connectx.median, 2), 7)]
            .joined(separator: " "))
    }
    guard let small = points.map(\.range).min(), let large = points.map(\.range).max(), small != large else { return }
    print("")
    print("Range size effect: \(large)-port range / \(small)-port range at the same occupancy and fill (target <= 2.0).")
    print([pad("occ", 4), pad("fill", 16), pad("median", 7), pad("p90", 6), pad("one dump", 9)].joined(separator: " "))
    for p in points where p.range == small {
        guard let q = points.first(where: { $0.range == large && $0.occupancy == p.occupancy && $0.fill == p.fill }) else { continue }
        print([pad("\(p.occupancy)%", 4), pad(p.fill, 16), pad(format(q.connectx.median / p.connectx.median, 2), 7),
               pad(format(q.connectx.p90 / p.connectx.p90, 2), 6), pad(format(q.oneDump.median / p.oneDump.median, 1), 9)]
            .joined(separator: " "))
    }
}

// MARK: - TCP with a source address, and the command

/// Closes a TCP socket with a reset (SO_LINGER 0): no TIME_WAIT holds its port afterwards.
func closeWithReset(_ fd: CInt) {
    var option = linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    close(fd)
}

struct TCPPoint {
    var connectx: Summary
    var plain: Summary
}

/// ConnectX TCP from 127.0.0.1 (port 0: IP_BIND_ADDRESS_NO_PORT) against socket() + bind(ip, 0)
/// + connect(), alternating, toward a listener in the namespace. Accepting and closing (with a
/// reset, so no TIME_WAIT piles up) happen outside the timing.
func measureTCP(iterations: Int) -> TCPPoint {
    let listener = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
    var one: CInt = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
    guard listener >= 0, withSockaddr(tcpDestination, { bind(listener, $0, $1) }) == 0, listen(listener, 4096) == 0 else {
        fatal("TCP listener: \(String(cString: strerror(errno)))")
    }
    defer { close(listener) }
    let from = ConnectX.Endpoint(address: source.address, port: 0)
    let clock = ContinuousClock()
    var connectx: [Double] = [], plain: [Double] = []
    for i in 0..<(iterations / 10 + iterations) {
        let start = clock.now
        let socket: ConnectedSocket
        do { socket = try ConnectX.connect(to: tcpDestination, from: from, protocol: .tcp) } catch { fatal("connectx tcp: \(error)") }
        let connectxTime = clock.now - start
        guard let fd = socket.release() else { fatal("connectx tcp: no descriptor") }
        closeWithReset(fd.rawValue)
        close(accept(listener, nil, nil))

        let plainStart = clock.now
        let plainFD = socket_(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue))
        let bound = withSockaddr(from) { bind(plainFD, $0, $1) }
        let connected = withSockaddr(tcpDestination) { connect(plainFD, $0, $1) }
        let plainTime = clock.now - plainStart
        guard plainFD >= 0, bound == 0, connected == 0 else { fatal("plain tcp: \(String(cString: strerror(errno)))") }
        closeWithReset(plainFD)
        close(accept(listener, nil, nil))
        if i >= iterations / 10 {
            connectx.append(microseconds(connectxTime))
            plain.append(microseconds(plainTime))
        }
    }
    return TCPPoint(connectx: Summary(connectx), plain: Summary(plain))
}

func printTCP(_ point: TCPPoint) {
    print("")
    print("TCP from 127.0.0.1 toward \(tcpDestination) (a listener in the namespace), microseconds:")
    print("connectx (IP_BIND_ADDRESS_NO_PORT) median \(format(point.connectx.median)), p90 \(format(point.connectx.p90)); "
        + "plain socket() + bind(ip, 0) + connect() median \(format(point.plain.median)), p90 \(format(point.plain.p90)); "
        + "ratio \(format(point.connectx.median / point.plain.median, 2)) (target <= 1.20)")
}

struct CommandPoint {
    /// Per connection, microseconds: wall clock and CPU time.
    var command: Summary, commandCPU: Summary
    var library: Summary, libraryCPU: Summary
    var connections: Int
}

func cpuMicroseconds(_ who: __rusage_who) -> Double {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

func threadCPUMicroseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e6 + Double(time.tv_nsec) / 1e3
}

/// `portpressure connect --udp --count N` against N ConnectX calls in this process that hold
/// their sockets the same way and then close them, per connection: the command's cost is what `--count 2001`
/// takes over `--count 1` (start-up cancels out), divided by 2,000. Five rounds, interleaved.
func measureCommand(_ portpressure: String, ns: NetworkNamespace) -> CommandPoint {
    let connections = 2000
    let clock = ContinuousClock()
    var command: [Double] = [], commandCPU: [Double] = [], library: [Double] = [], libraryCPU: [Double] = []
    func run(_ count: Int) -> (wall: Double, cpu: Double) {
        let cpuBefore = cpuMicroseconds(RUSAGE_CHILDREN)
        let start = clock.now
        let result: ProcessResult
        do {
            result = try ns.spawn([portpressure, "connect", "--udp", "--count", "\(count)", "\(destination)"])
        } catch { fatal("portpressure connect: \(error)") }
        let wall = microseconds(clock.now - start)
        guard result.status == 0 else { fatal("portpressure connect --count \(count) exited \(result.status): \(result.stderr)") }
        return (wall, cpuMicroseconds(RUSAGE_CHILDREN) - cpuBefore)
    }
    for _ in 0..<5 {
        let one = run(1), many = run(connections + 1)
        command.append((many.wall - one.wall) / Double(connections))
        commandCPU.append((many.cpu - one.cpu) / Double(connections))
        guard let (wall, cpu) = try? ns.run({ () -> (Double, Double) in
            let options: ConnectOptions
            do { options = ConnectOptions(sockDiag: try SockDiagClient()) } catch { fatal("SockDiagClient: \(error)") }
            var sockets: [ConnectedSocket] = []
            sockets.reserveCapacity(connections)
            let cpuStart = threadCPUMicroseconds()
            let start = clock.now
            for _ in 0..<connections {
                do { sockets.append(try ConnectX.connect(to: destination, protocol: .udp, options: options)) } catch {
                    fatal("connectx: \(error)")
                }
            }
            // Closing counts too: the command closes its sockets before it exits.
            sockets.forEach { $0.close() }
            return (microseconds(clock.now - start), threadCPUMicroseconds() - cpuStart)
        }) else { fatal("the namespace thread failed") }
        library.append(wall / Double(connections))
        libraryCPU.append(cpu / Double(connections))
    }
    return CommandPoint(command: Summary(command), commandCPU: Summary(commandCPU), library: Summary(library),
                        libraryCPU: Summary(libraryCPU), connections: connections)
}

func printCommand(_ point: CommandPoint, range: Int) {
    print("")
    print("portpressure connect --udp, per connection over \(point.connections) held connections (--count \(point.connections + 1) minus --count 1), "
        + "against as many ConnectX calls in one process holding theirs, closing included; \(range)-port range, median of 5 rounds, microseconds:")
    print("command \(format(point.command.median)) (cpu \(format(point.commandCPU.median))); library \(format(point.library.median)) "
        + "(cpu \(format(point.libraryCPU.median))); the command adds \(format((point.command.median / point.library.median - 1) * 100))% "
        + "(cpu \(format((point.commandCPU.median / point.libraryCPU.median - 1) * 100))%; target <= 10%)")
}

// MARK: - Main

/// Occupants live in child processes: a process may hold 20,000 descriptors here (no
/// CAP_SYS_RESOURCE to raise it), and 90% of 28,000 ports is 25,200 sockets.
let occupantsPerProcess = 15_000

/// Starts children (in `ns`) that hold one occupant per port; returns them once all are ready.
func occupyInChildren(_ ports: [(port: Int, peer: ConnectX.Endpoint)], ns: NetworkNamespace) -> [RunningProcess] {
    var children: [RunningProcess] = []
    for (index, start) in stride(from: 0, to: ports.count, by: occupantsPerProcess).enumerated() {
        let chunk = ports[start..<min(ports.count, start + occupantsPerProcess)]
        let file = "/tmp/connectx-benchmark-\(getpid())-\(index).ports"
        let text = chunk.map { "\($0.port) \($0.peer)" }.joined(separator: "\n")
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0, Array(text.utf8).withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.utf8.count else {
            fatal("write \(file): \(String(cString: strerror(errno)))")
        }
        close(fd)
        do {
            let child = try ns.launch([CommandLine.arguments[0], "--occupy", file])
            _ = try child.waitForLine(startingWith: "READY", timeout: 120)
            unlink(file)
            children.append(child)
        } catch {
            fatal("occupant process: \(error)")
        }
    }
    return children
}

let settings = parseArguments()
if let file = settings.occupyFile {
    // Child mode (already inside the namespace: the parent launched it from there).
    let bytes: [UInt8]
    do { bytes = try WholeFile.read(file) } catch { fatal("read \(file): \(error)") }
    let ports = String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line -> (port: Int, peer: ConnectX.Endpoint)? in
        let fields = line.split(separator: " ")
        guard fields.count == 2, let port = Int(fields[0]), let peer = ConnectX.Endpoint(parsing: String(fields[1])) else { return nil }
        return (port, peer)
    }
    let occupants = occupy(ports)
    print("READY \(occupants.count)")
    fflush(nil)
    var byte: UInt8 = 0
    while read(STDIN_FILENO, &byte, 1) > 0 {}
    exit(0)
}
let ns: NetworkNamespace
do { ns = try NetworkNamespace() } catch { fatal("\(error)") }
var points: [Point] = []
for range in settings.ranges {
    do { try ns.setPortRange(low: rangeLow, high: rangeLow + range - 1) } catch { fatal("\(error)") }
    for occupancy in settings.occupancies {
        for layout in occupancy == 0 ? [""] : ["random", "contiguous"] {
        for rest in ["free", "held"] {
            let fill = layout.isEmpty ? rest : "\(layout)/\(rest)"
            printError("measuring \(range) ports, \(occupancy)% \(fill)...")
            var generator = SystemRandomNumberGenerator()
            let count = range * occupancy / 100
            let taken: [Int]
            if layout != "contiguous" {
                taken = Array((rangeLow..<(rangeLow + range)).shuffled(using: &generator).prefix(count))
            } else {
                // One block at a random place, wrapping: the worst case for a linear walk.
                let start = Int.random(in: 0..<range, using: &generator)
                taken = (0..<count).map { rangeLow + (start + $0) % range }
            }
            var ports = taken.map { (port: $0, peer: destination) }
            if rest == "held" {
                let takenSet = Set(taken)
                ports += (rangeLow..<(rangeLow + range)).filter { !takenSet.contains($0) }.map { (port: $0, peer: elsewhere) }
            }
            let occupants = occupyInChildren(ports, ns: ns)
            // The SOCK_DIAG client and every measured socket are made on the namespace's thread.
            let point = try? ns.run { () -> Point in
                let client: SockDiagClient
                do { client = try SockDiagClient() } catch { fatal("SockDiagClient: \(error)") }
                return measure(range: range, occupancy: occupancy, fill: fill, iterations: settings.iterations, client: client)
            }
            occupants.forEach { $0.stop() }
            guard let point else { fatal("the namespace thread failed") }
            points.append(point)
        }
        }
    }
}
printTable(points, iterations: settings.iterations)
do { try ns.setPortRange(low: rangeLow, high: rangeLow + settings.ranges.max()! - 1) } catch { fatal("\(error)") }
printError("measuring TCP...")
guard let tcp = try? ns.run({ measureTCP(iterations: settings.iterations) }) else { fatal("the namespace thread failed") }
printTCP(tcp)
if let portpressure = settings.portpressure {
    printError("measuring portpressure connect...")
    printCommand(measureCommand(portpressure, ns: ns), range: settings.ranges.max()!)
}
