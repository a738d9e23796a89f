import Foundation
import Glibc
import Synchronization
import TestSupport

/// `IP_BIND_ADDRESS_NO_PORT` from <linux/in.h>: `bind(ip, 0)` leaves the port to `connect()`,
/// which picks one free for the 4-tuple (Glibc's module does not export the constant).
let ipBindAddressNoPort: Int32 = 24

struct SocketCallFailure: Error, CustomStringConvertible {
    let call: String
    let errno: Int32
    var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// Blocking IPv4 socket calls for building a socket population. Call them on the namespace's
/// thread: a socket belongs to the namespace of the thread that created it.
enum Sockets {
    static func address(_ ip: String, _ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, ip, &address.sin_addr)
        return address
    }

    static func check(_ result: Int32, _ call: String, closing fd: Int32) throws(SocketCallFailure) {
        guard result == 0 else {
            let error = SocketCallFailure(call: call, errno: errno)
            close(fd)
            throw error
        }
    }

    static func bind(_ fd: Int32, _ ip: String, _ port: UInt16) throws(SocketCallFailure) {
        var address = address(ip, port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try check(result, "bind \(ip):\(port)", closing: fd)
    }

    static func connect(_ fd: Int32, _ ip: String, _ port: UInt16) throws(SocketCallFailure) {
        var address = address(ip, port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try check(result, "connect \(ip):\(port)", closing: fd)
    }

    static func socket(_ type: Int32) throws(SocketCallFailure) -> Int32 {
        let fd = Glibc.socket(AF_INET, type, 0)
        guard fd >= 0 else { throw SocketCallFailure(call: "socket", errno: errno) }
        return fd
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32 = 1) throws(SocketCallFailure) {
        var value = value
        try check(setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)), "setsockopt \(name)", closing: fd)
    }

    static var tcp: Int32 { Int32(SOCK_STREAM.rawValue) }
    static var udp: Int32 { Int32(SOCK_DGRAM.rawValue) }

    static func tcpListener(_ ip: String, _ port: UInt16, backlog: Int32 = 1024) throws(SocketCallFailure) -> Int32 {
        let fd = try socket(tcp)
        try setOption(fd, SOL_SOCKET, SO_REUSEADDR)
        try bind(fd, ip, port)
        try check(listen(fd, backlog), "listen", closing: fd)
        return fd
    }

    /// A TCP connection to `ip:port`; from `source` (port chosen at connect time) when given.
    static func tcpConnection(to ip: String, _ port: UInt16, from source: String? = nil) throws(SocketCallFailure) -> Int32 {
        let fd = try socket(tcp)
        if let source {
            try setOption(fd, Int32(IPPROTO_IP), ipBindAddressNoPort)
            try bind(fd, source, 0)
        }
        try connect(fd, ip, port)
        return fd
    }
}

/// Accepts every connection on a listener from its own thread and keeps it open (up to a cap),
/// so clients stay ESTABLISHED and probes never find the backlog full.
final class Acceptor: @unchecked Sendable {
    private let listener: Int32
    private let accepted = Mutex<[Int32]>([])
    private let done = DispatchSemaphore(value: 0)
    private let cap: Int

    init(listener: Int32, cap: Int = 4000) {
        self.listener = listener
        self.cap = cap
        Thread.detachNewThread { [self] in
            while true {
                let fd = accept(listener, nil, nil)
                if fd < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    break  // shutdown() of the listener
                }
                let kept = accepted.withLock { fds in
                    guard fds.count < cap else { return false }
                    fds.append(fd)
                    return true
                }
                if !kept { close(fd) }
            }
            done.signal()
        }
    }

    /// Wakes the accepting thread, waits for it (bounded), and closes every accepted socket.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        _ = done.wait(timeout: .now() + 5)
        accepted.withLock { fds in
            fds.forEach { close($0) }
            fds.removeAll()
        }
    }
}

/// A minimal HTTP/1.0 client for loopback servers inside the namespace: one connection per
/// request, closed by the server, so the client side leaves no TIME_WAIT behind (it matters when
/// the test narrows the port range). Call on the namespace's thread.
enum LoopbackHTTP {
    struct Response {
        var status: Int
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func get(port: UInt16, path: String, timeoutSeconds: Int = 5) throws -> Response {
        let fd = try Sockets.socket(Sockets.tcp)
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = Sockets.address("127.0.0.1", port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketCallFailure(call: "connect 127.0.0.1:\(port)", errno: errno) }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw SocketCallFailure(call: "send", errno: errno) }
            sent += n
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while response.count < 64 << 20 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else {
                if errno == EINTR { continue }
                throw SocketCallFailure(call: "recv from :\(port)\(path.prefix(60))", errno: errno)
            }
            response.append(contentsOf: buffer[..<n])
        }
        guard let split = response.range(of: Data("\r\n\r\n".utf8)) else {
            throw OpsTestError("no HTTP header from :\(port)\(path.prefix(60))")
        }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw OpsTestError("bad status line: \(statusLine)") }
        return Response(status: status, body: Data(response[split.upperBound...]))
    }
}

/// A long-running child started from the namespace's thread (so it lives in the namespace),
/// its output in a log file; stopped with SIGTERM, then SIGKILL, within bounded time.
///
/// Spawned with posix_spawn and an empty signal mask, as systemd or a shell would start it:
/// Foundation's Process passes on the spawning thread's mask, and test threads block SIGTERM,
/// SIGINT and SIGHUP (measured: SigBlk fffffffe3bfbea27), so a child would never see them.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let log: URL
    private(set) var pid: pid_t = 0
    private var ending: Ending?

    /// How a child ended.
    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        case killed  // ignored SIGTERM for the whole timeout

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signaled(let signal): "terminated by signal \(signal)"
            case .killed: "did not stop on SIGTERM, killed"
            }
        }

        /// Decodes a wait status (the W* macros do not import).
        init(waitStatus status: Int32) {
            let signal = status & 0x7f
            self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        }
    }

    init(name: String, arguments: [String], logDirectory: URL, namespace: NetworkNamespace) throws {
        self.name = name
        log = logDirectory.appendingPathComponent("\(name).log")
        let logPath = log.path
        pid = try namespace.run { try Self.spawn(arguments, logPath: logPath) }
    }

    deinit { if ending == nil { stop(timeout: 2) } }

    private static func spawn(_ arguments: [String], logPath: String) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw SocketCallFailure(call: "posix_spawn \(arguments[0])", errno: result) }
        return pid
    }

    /// Reaps the child if it has exited.
    private func poll() -> Ending? {
        if let ending { return ending }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { ending = Ending(waitStatus: status) }
        return ending
    }

    var isRunning: Bool { poll() == nil }

    /// How it ended, if it has.
    var exitedEarly: Ending? { poll() }

    /// The child's network namespace (`net:[inode]`), to compare with the namespace's thread.
    var networkNamespace: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")) ?? "?"
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The last lines of the log, for failure messages.
    var logTail: String { logText.split(separator: "\n").suffix(15).joined(separator: "\n") }

    /// SIGTERM, up to `timeout` seconds to exit, then SIGKILL.
    @discardableResult
    func stop(timeout: TimeInterval = 10) -> Ending {
        if let ending = poll() { return ending }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let ending = poll() { return ending }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        ending = .killed
        return .killed
    }
}

/// Thrown from an `eventually` check when waiting longer cannot help (a child exited).
struct StopWaiting: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `check` every half second until it returns true or `seconds` pass; errors count as
/// "not yet", except StopWaiting.
func eventually(_ what: String, within seconds: TimeInterval, _ check: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    var lastError: (any Error)?
    while Date() < deadline {
        do {
            if try check() { return }
            lastError = nil
        } catch let error as StopWaiting {
            throw error
        } catch {
            lastError = error
        }
        usleep(500_000)
    }
    throw OpsTestError("timed out after \(Int(seconds)) s waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}

extension ChildProcess {
    /// `arguments` run as nobody (65534), with no capabilities and no way to gain any.
    static func unprivileged(_ arguments: [String]) throws -> [String] {
        [try Tool.path("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
         "--inh-caps=-all", "--bounding-set=-all", "--"] + arguments
    }

    /// Debian's Prometheus with `directory`/prometheus.yml, in `namespace` on 127.0.0.1:`port`,
    /// once it answers /-/ready.
    static func prometheus(directory: URL, port: UInt16, namespace: NetworkNamespace) throws -> (ChildProcess, PrometheusAPI) {
        let server = try ChildProcess(
            name: "prometheus",
            arguments: [try Tool.path("prometheus"),
                        "--config.file=\(directory.appendingPathComponent("prometheus.yml").path)",
                        "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
                        "--web.listen-address=127.0.0.1:\(port)",
                        "--log.level=warn"],
            logDirectory: directory, namespace: namespace)
        do {
            try eventually("Prometheus to be ready", within: 30) {
                guard server.isRunning else { throw StopWaiting("prometheus \(server.exitedEarly!):\n\(server.logTail)") }
                return (try? namespace.run { try LoopbackHTTP.get(port: port, path: "/-/ready") })?.status == 200
            }
        } catch {
            server.stop()
            throw error
        }
        return (server, PrometheusAPI(namespace: namespace, port: port))
    }
}

/// Prometheus's HTTP API, reached from the namespace's thread.
struct PrometheusAPI {
    let namespace: NetworkNamespace
    let port: UInt16

    static let queryAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()

    func get(_ path: String) throws -> [String: Any] {
        let port = self.port
        let response = try namespace.run { try LoopbackHTTP.get(port: port, path: path) }
        guard let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw OpsTestError("not JSON from \(path): \(response.text.prefix(200))")
        }
        guard response.status == 200, object["status"] as? String == "success" else {
            throw OpsTestError("HTTP \(response.status) for \(path.removingPercentEncoding ?? path): \(object["error"] ?? response.text)")
        }
        return object
    }

    /// An instant query's samples, each as its labels and value.
    func query(_ expr: String) throws -> [(labels: [String: String], value: Double)] {
        let encoded = expr.addingPercentEncoding(withAllowedCharacters: Self.queryAllowed)!
        let data = try get("/api/v1/query?query=\(encoded)")["data"] as? [String: Any]
        let result = data?["result"] as? [[String: Any]] ?? []
        return result.map { sample in
            let value = (sample["value"] as? [Any])?.last as? String
            return (sample["metric"] as? [String: String] ?? [:], value.flatMap(Double.init) ?? .nan)
        }
    }

    /// Values of a label among the series matching `match`, as Grafana's label_values() asks.
    func labelValues(_ label: String, match: String) throws -> [String] {
        let encoded = match.addingPercentEncoding(withAllowedCharacters: Self.queryAllowed)!
        return try get("/api/v1/label/\(label)/values?match%5B%5D=\(encoded)")["data"] as? [String] ?? []
    }

    struct Alert {
        var labels: [String: String]
        var annotations: [String: String]
        var state: String
    }

    /// Every pending or firing alert.
    func alerts() throws -> [Alert] {
        let data = try get("/api/v1/alerts")["data"] as? [String: Any]
        return (data?["alerts"] as? [[String: Any]] ?? []).map {
            Alert(labels: $0["labels"] as? [String: String] ?? [:],
                  annotations: $0["annotations"] as? [String: String] ?? [:],
                  state: $0["state"] as? String ?? "")
        }
    }
}
