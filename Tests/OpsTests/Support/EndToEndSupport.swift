import Foundation
import Glibc
import Synchronization
import TestSupport

/// `IP_BIND_ADDRESS_NO_PORT` from <linux/in.h>: `bind(ip, 0)` leaves the port to `connect()`,
/// which picks one free for the 4-tuple (Glibc's module does not export the constant).
let ipBindAddressNoPort: Int32 = 24

extension TestSocket {
    /// A TCP connection to `ip:port`; from `source` (port chosen at connect time) when given.
    static func tcpConnection(to ip: String, _ port: UInt16, from source: String? = nil) throws -> TestSocket {
        let socket = try TestSocket(.ipv4, .tcp)
        if let source {
            try socket.setOption(Int32(IPPROTO_IP), ipBindAddressNoPort)
            try socket.bind(.at(source, 0))
        }
        try socket.connect(.at(ip, port))
        return socket
    }
}

/// Accepts every connection on a listener from its own thread and keeps it open (up to a cap),
/// so clients stay ESTABLISHED and probes never find the backlog full.
final class Acceptor: @unchecked Sendable {
    private let listener: TestSocket
    private let accepted = Mutex<[Int32]>([])
    private let done = DispatchSemaphore(value: 0)
    private let cap: Int

    init(listener: TestSocket, cap: Int = 4000) {
        self.listener = listener
        self.cap = cap
        Thread.detachNewThread { [self] in
            while true {
                let fd = accept(listener.fd, nil, nil)
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
        shutdown(listener.fd, Int32(SHUT_RDWR))
        _ = done.wait(timeout: .now() + 5)
        accepted.withLock { fds in
            fds.forEach { close($0) }
            fds.removeAll()
        }
    }
}

extension RunningProcess {
    /// The child's network namespace (`net:[inode]`), to compare with the namespace's thread.
    var networkNamespace: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")) ?? "?"
    }

    /// The last lines of its output, for failure messages.
    var logTail: String { (stdout + stderr).split(separator: "\n").suffix(15).joined(separator: "\n") }
}

extension RunningProcess {
    /// Everything it wrote, for assertions on its log.
    var logText: String { stdout + stderr }

    /// `arguments` run as nobody (65534), with no capabilities and no way to gain any.
    static func unprivileged(_ arguments: [String]) throws -> [String] {
        [try Tool.path("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
         "--inh-caps=-all", "--bounding-set=-all", "--"] + arguments
    }

    /// Debian's Prometheus with `directory`/prometheus.yml, in `namespace` on 127.0.0.1:`port`,
    /// once it answers /-/ready.
    static func prometheus(directory: URL, port: UInt16, namespace: NetworkNamespace) throws -> (RunningProcess, PrometheusAPI) {
        let server = try namespace.launch([try Tool.path("prometheus"),
                                           "--config.file=\(directory.appendingPathComponent("prometheus.yml").path)",
                                           "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
                                           "--web.listen-address=127.0.0.1:\(port)",
                                           "--log.level=warn"])
        do {
            try waitUntil("Prometheus to be ready", timeout: .seconds(30), every: .milliseconds(500)) {
                guard server.isRunning else { throw StopWaiting("prometheus \(server.ending!):\n\(server.logTail)") }
                return (try? namespace.run { try HTTPClient(port: port, timeoutSeconds: 5).request("GET", "/-/ready") })?.status == 200
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
        let response = try namespace.run { try HTTPClient(port: port, timeoutSeconds: 5).request("GET", path) }
        guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
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
