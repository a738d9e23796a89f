#if canImport(Glibc)
import Glibc
#endif
import SockDiag
import SystemCalls
import SystemPackage

/// The floor: what any consumer of a full SOCK_DIAG dump must pay. By default the same dumps
/// portpressure makes (`DumpQuery.everySocketCombined`: TCP of both families in one request,
/// UDP per family, every state), with only the netlink message headers walked and no record
/// decoded (`SockDiagClient.count`).
struct CountOnlyFloor {
    let client: SockDiagClient
    let queries: [DumpQuery]

    /// With `ssStates`, the TCP queries leave out the bound-inactive bit, as ss 6.1 does: the
    /// kernel then skips its walk of the bind table. (Informational: portpressure needs it.)
    init(queries: [DumpQuery] = DumpQuery.everySocketCombined, ssStates: Bool = false) throws {
        client = try SockDiagClient()
        self.queries = queries.map { query in
            guard ssStates, query.proto == .tcp else { return query }
            var trimmed = query
            trimmed.states = SocketStateMask(rawValue: query.states.rawValue & ~(1 << 13))
            return trimmed
        }
    }

    /// Sockets counted, wall time and this thread's CPU time.
    func measure() throws -> (sockets: Int, run: Run) {
        let wallStart = monotonicSeconds(), cpuStart = threadCPUSeconds()
        var sockets = 0
        for query in queries { sockets += try client.count(query) }
        return (sockets, Run(wallSeconds: monotonicSeconds() - wallStart, cpuSeconds: threadCPUSeconds() - cpuStart))
    }
}

/// One HTTP/1.1 GET over loopback with `Connection: close`, read to the end. The client closes
/// with a RST (SO_LINGER 0) so a thousand scrapes leave no TIME_WAIT behind.
/// With `keepBody`, the body's text is returned too (else empty: the timing reads and drops it).
func httpGet(port: UInt16, path: String, keepBody: Bool = false) throws -> (status: Int, bytes: Int, text: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    var timeout = timeval(tv_sec: 60, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw BenchError("connect 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
        throw BenchError("send: \(String(cString: strerror(errno)))")
    }
    var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    var head: [UInt8] = []
    var kept: [UInt8] = []
    var total = 0
    while true {
        let n: Int
        do {
            n = try buffer.withUnsafeMutableBytes { buffer throws(Errno) in try systemCall { recv(fd, buffer.baseAddress, buffer.count, 0) } }
        } catch { throw BenchError("recv: \(error)") }
        if n == 0 { break }
        if head.count < 16 { head += buffer[0..<min(n, 16)] }
        if keepBody { kept += buffer[0..<n] }
        total += n
    }
    // "HTTP/1.1 200 ..."
    let statusText = String(decoding: head.dropFirst(9).prefix(3), as: UTF8.self)
    return (Int(statusText) ?? 0, total, String(decoding: kept, as: UTF8.self))
}

/// VmRSS and VmHWM of a process, in bytes, from /proc/<pid>/status.
func memory(of pid: pid_t) throws -> (rss: Int, peak: Int) {
    let text = try readFile("/proc/\(pid)/status")
    func field(_ name: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let number = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return number.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }
    guard let rss = field("VmRSS"), let peak = field("VmHWM") else { throw BenchError("no VmRSS/VmHWM for pid \(pid)") }
    return (rss, peak)
}

/// utime + stime of a process, in seconds, from /proc/<pid>/stat (clock-tick resolution).
func cpuSeconds(of pid: pid_t) throws -> Double {
    let text = try readFile("/proc/\(pid)/stat")
    guard let close = text.lastIndex(of: ")") else { throw BenchError("bad /proc/\(pid)/stat") }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // Fields 14 and 15 of the file; the first after ")" is field 3.
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
        throw BenchError("bad /proc/\(pid)/stat")
    }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func readFile(_ path: String) throws -> String {
    do { return try WholeFile.text(path) } catch { throw BenchError("read \(path): \(error)") }
}

func writeFile(_ path: String, _ value: String) throws {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BenchError("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let bytes = Array(value.utf8)
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw BenchError("write \(path): \(String(cString: strerror(errno)))")
    }
}
