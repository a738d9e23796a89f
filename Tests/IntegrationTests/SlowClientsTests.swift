#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
import TestSupport

extension EndToEnd {
    /// Issue 11, item 1: slow and silent clients never starve scrapes.
    @Suite struct SlowClients {
        static let port = 9100
        static let tricklers = 1_000
        static let silent = 200

        /// 1,000 connections from 50 source addresses that each send one byte of a request every
        /// 3 s (reconnecting when the server closes them, as an attacker would), and 200 from 10
        /// more that send nothing, against the real `serve` for 60 s: 30 scrapes of `/metrics`
        /// and of `/-/healthy` all answer 200 within 1 s, the log says little about the clients,
        /// and afterwards the server's threads and descriptors are back to their start counts.
        @Test func tricklingAndSilentClientsDoNotStarveScrapes() throws {
            let ns = try NetworkNamespace()
            let serve = try ServeProcess.start(in: ns, port: Self.port, extra: ["--web.disable-exporter-metrics"])
            defer { serve.process.stop() }
            // A first scrape creates what scrapes keep (the netlink socket); then count.
            #expect(try ns.run { try HTTPClient(port: Self.port, timeoutSeconds: 5).request("GET", "/metrics") }.status == 200)
            let start = try Self.settledCounts(pid: serve.process.pid)
            let logLinesBefore = Self.lines(serve.process.stderr).count

            let attack = Attack(ns: ns, port: Self.port)
            try attack.open(tricklers: Self.tricklers, silent: Self.silent)
            let attacking = Thread { attack.run(for: .seconds(60)) }
            attacking.start()

            // 30 rounds over 60 s, each a scrape of /metrics and of /-/healthy, timed inside the
            // namespace's thread (so that waiting for the attacker's reconnects is not counted).
            let clock = ContinuousClock()
            var slowest = Duration.zero
            for round in 0..<30 {
                let roundStart = clock.now
                for path in ["/metrics", "/-/healthy"] {
                    let (status, took) = try ns.run {
                        let begin = ContinuousClock.now
                        let reply = try HTTPClient(port: Self.port, timeoutSeconds: 5).request("GET", path)
                        return (reply.status, ContinuousClock.now - begin)
                    }
                    #expect(status == 200, "round \(round) \(path)")
                    #expect(took < .seconds(1), "round \(round) \(path) took \(took)")
                    slowest = max(slowest, took)
                }
                // Waiting for time to pass on purpose: the rounds are spread over the minute.
                let rest = .seconds(2) - (clock.now - roundStart)
                if rest > .zero { Thread.sleep(forTimeInterval: Double(rest.components.seconds) + Double(rest.components.attoseconds) / 1e18) }
            }
            attack.stop()
            #expect(attack.waitUntilDone(), "the attacker stopped")
            let pressure = attack.summary
            print("slow clients: \(pressure.connections) attacking connections opened, \(pressure.closedByServer) closed by the server, "
                + "\(pressure.bytes) bytes trickled; slowest scrape \(slowest)")
            #expect(pressure.connections >= Self.tricklers + Self.silent)
            #expect(pressure.closedByServer >= Self.tricklers, "the server closed the tricklers at the deadline")

            // The log: a few counted lines, not one per client.
            let during = Self.lines(serve.process.stderr).dropFirst(logLinesBefore)
            print("slow clients: \(during.count) log lines meanwhile:\n" + during.joined(separator: "\n"))
            #expect(during.count < 20, "\(during.count) log lines: \(during.prefix(25).joined(separator: "\n"))")
            #expect(during.contains { $0.contains("request head was not complete within") }, "the closures are reported, with a count")

            // Threads and descriptors return to where they started (bounded wait).
            attack.closeAll()
            // The server closes its side in its own time and says nothing when: poll, bounded.
            var now = try Self.counts(pid: serve.process.pid)
            _ = eventually(timeout: .seconds(15), every: .milliseconds(50)) {
                now = try Self.counts(pid: serve.process.pid)
                return now.threads <= start.threads && now.descriptors <= start.descriptors
            }
            #expect(now.threads <= start.threads, "threads \(now.threads), at start \(start.threads)")
            #expect(now.descriptors <= start.descriptors, "descriptors \(now.descriptors), at start \(start.descriptors)")
            #expect(try ns.run { try HTTPClient(port: Self.port, timeoutSeconds: 5).request("GET", "/-/healthy") }.status == 200)
        }

        static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

        struct Counts { var threads: Int; var descriptors: Int }

        static func counts(pid: pid_t) throws -> Counts {
            let threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count
            let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
            return Counts(threads: threads, descriptors: descriptors)
        }

        /// The counts once two readings 100 ms apart agree (bounded: 5 s; then the last reading).
        static func settledCounts(pid: pid_t) throws -> Counts {
            var last: Counts?
            _ = eventually(timeout: .seconds(5), every: .milliseconds(100)) {
                let now = try counts(pid: pid)
                defer { last = now }
                guard let last else { return false }  // the first reading: nothing to compare yet
                return now.threads == last.threads && now.descriptors == last.descriptors
            }
            // No reading at all succeeded: read once more to throw why.
            return try last ?? counts(pid: pid)
        }
    }
}

/// The attacking clients: non-blocking sockets made in the namespace, fed from one thread.
private final class Attack: @unchecked Sendable {
    struct Summary { var connections = 0; var closedByServer = 0; var bytes = 0 }

    private struct Client {
        var fd: Int32
        let source: String
        let trickles: Bool
        var sent = 0
        var lastSend = ContinuousClock.now
    }

    private let ns: NetworkNamespace
    private let port: Int
    private var clients: [Client] = []
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private(set) var summary = Summary()
    private static let request = Array("GET /metrics HTTP/1.1\r\nHost: attacker\r\nUser-Agent: slow\r\n\r\n".utf8)

    init(ns: NetworkNamespace, port: Int) {
        self.ns = ns
        self.port = port
    }

    /// Tricklers from 127.0.0.2–51 (20 each), silent ones from 127.0.0.52–61 (20 each).
    func open(tricklers: Int, silent: Int) throws {
        let port = self.port
        clients = try ns.run {
            var made: [Client] = []
            for index in 0..<tricklers { made.append(Client(fd: try Self.connect(from: "127.0.0.\(2 + index % 50)", port: port), source: "127.0.0.\(2 + index % 50)", trickles: true)) }
            for index in 0..<silent { made.append(Client(fd: try Self.connect(from: "127.0.0.\(52 + index % 10)", port: port), source: "127.0.0.\(52 + index % 10)", trickles: false)) }
            return made
        }
        summary.connections = clients.count
    }

    /// Every 250 ms: reconnect what the server closed; send the next byte on each trickler
    /// whose last byte is 3 s old. Bounded by `duration` and `stop()`.
    func run(for duration: Duration) {
        defer { done.signal() }
        let clock = ContinuousClock()
        let end = clock.now + duration
        while clock.now < end && !stopping.load(ordering: .relaxed) {
            var closed: [Int] = []
            for index in clients.indices {
                var byte: UInt8 = 0
                let peeked = recv(clients[index].fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                if peeked >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { closed.append(index); continue }
                guard clients[index].trickles, clock.now - clients[index].lastSend >= .seconds(3) else { continue }
                var next = Self.request[clients[index].sent % Self.request.count]
                if send(clients[index].fd, &next, 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) == 1 {
                    clients[index].sent += 1
                    clients[index].lastSend = clock.now
                    summary.bytes += 1
                }
            }
            if !closed.isEmpty {
                summary.closedByServer += closed.count
                let port = self.port
                let sources = closed.map { clients[$0].source }
                for index in closed { close(clients[index].fd) }
                let fresh = (try? ns.run { try sources.map { try Self.connect(from: $0, port: port) } }) ?? []
                for (index, fd) in zip(closed, fresh) {
                    clients[index].fd = fd
                    clients[index].sent = 0
                    clients[index].lastSend = clock.now
                }
                summary.connections += fresh.count
            }
            usleep(250_000)  // the attacker's own pace
        }
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    /// Waits (bounded, 10 s) for `run` to return; the semaphore orders its writes before our reads.
    func waitUntilDone() -> Bool { done.wait(timeout: .now() + 10) == .success }

    func closeAll() {
        for client in clients { close(client.fd) }
        clients = []
    }

    /// A non-blocking TCP connection from `source` (any port) to 127.0.0.1:`port`.
    static func connect(from source: String, port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw NetworkNamespace.Failure("socket: \(String(cString: strerror(errno)))") }
        func address(_ text: String, _ port: Int) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, text, &address.sin_addr)
            return address
        }
        var local = address(source, 0)
        var remote = address("127.0.0.1", port)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) } }
        guard bound == 0, connected == 0 || errno == EINPROGRESS else {
            let error = errno
            close(fd)
            throw NetworkNamespace.Failure("connect from \(source): \(String(cString: strerror(error)))")
        }
        return fd
    }
}
