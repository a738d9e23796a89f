import Foundation
import Logging
import Synchronization
import Testing
@testable import HTTPServer
import TestSupport

/// Real HTTP over loopback: each test starts its own server on a kernel-chosen port.
@Suite struct HTTPServerTests {
    static func start(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(listenAddresses: []),
                      addresses: [String] = ["127.0.0.1:0"], handler: @escaping HTTPHandler = echo) throws -> HTTPServer {
        var configuration = configuration
        configuration.listenAddresses = try addresses.map { try ListenAddress(parsing: $0) }
        var logger = Logger(label: "test.http")
        logger.logLevel = .warning
        return try HTTPServer(configuration: configuration, logger: logger, handler: handler)
    }

    /// Answers with what it received, one fact per line.
    static let echo: HTTPHandler = { request in
        var lines = ["method \(request.method)", "path \(request.path)", "version \(request.version)"]
        for item in request.queryItems { lines.append("query \(item.name)=\(item.value)") }
        lines.append("header x-test=\(request.header("X-TEST") ?? "-")")
        return .text(200, lines.joined(separator: "\n") + "\n", headers: [HTTPHeader(name: "X-Echo", value: "yes")])
    }

    @Test func servesRequestsWithQueryAndHeaders() throws {
        let server = try Self.start()
        defer { server.stop() }
        let port = try #require(server.boundAddresses.first?.port)
        #expect(port != 0)
        #expect(server.boundAddresses.first?.host == "127.0.0.1")
        let client = HTTPClient(port: port)
        let response = try client.request("GET", "/metrics?collect[]=sockets&collect%5B%5D=udp&exclude[]=a+b&empty&x=%2F%26", headers: [("X-Test", "v1")])
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(response.header("X-Echo") == "yes")
        #expect(response.header("Content-Length") == String(response.rawBody.count))
        #expect(response.text == """
        method GET
        path /metrics
        version HTTP/1.1
        query collect[]=sockets
        query collect[]=udp
        query exclude[]=a b
        query empty=
        query x=/&
        header x-test=v1

        """)
    }

    @Test func handlerDecidesStatusAndMethods() throws {
        let server = try Self.start { request in
            switch (request.method, request.path) {
            case ("GET", "/"), ("HEAD", "/"): .text(200, "home\n")
            case (_, "/"): .text(405, "method not allowed\n", headers: [HTTPHeader(name: "Allow", value: "GET, HEAD")])
            case (_, "/bad"): .text(400, "bad\n")
            default: .text(404, "not found\n")
            }
        }
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        #expect(try client.request("GET", "/").status == 200)
        let post = try client.send(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".utf8))
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
        #expect(try client.request("DELETE", "/").status == 405)
        #expect(try client.request("GET", "/bad").status == 400)
        let missing = try client.request("GET", "/nope")
        #expect(missing.status == 404)
        #expect(missing.text == "not found\n")
    }

    @Test func headHasNoBody() throws {
        let body = String(repeating: "portpressure_sockets{proto=\"tcp\"} 1\n", count: 100)
        let server = try Self.start { _ in .text(200, body) }
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        let get = try client.request("GET", "/metrics")
        let head = try client.request("HEAD", "/metrics")
        #expect(get.status == 200 && head.status == 200)
        #expect(get.text == body)
        #expect(head.rawBody.isEmpty)
        #expect(head.header("Content-Length") == String(body.utf8.count))
        // The same holds for a gzipped answer.
        let gzipHead = try client.request("HEAD", "/metrics", headers: [("Accept-Encoding", "gzip")])
        let gzipGet = try client.request("GET", "/metrics", headers: [("Accept-Encoding", "gzip")])
        #expect(gzipHead.rawBody.isEmpty)
        #expect(gzipHead.header("Content-Encoding") == "gzip")
        #expect(gzipHead.header("Content-Length") == String(gzipGet.rawBody.count))
    }

    @Test func gzipRoundTrip() throws {
        let body = (0..<20_000).map { "portpressure_ephemeral_ports_used{local_address=\"10.0.\($0 / 256).\($0 % 256)\"} \($0)\n" }.joined()
        let server = try Self.start { _ in .text(200, body) }
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)

        let compressed = try client.request("GET", "/metrics", headers: [("Accept-Encoding", "deflate, gzip;q=0.8")])
        #expect(compressed.status == 200)
        #expect(compressed.header("Content-Encoding") == "gzip")
        #expect(compressed.header("Vary") == "Accept-Encoding")
        #expect(compressed.header("Content-Length") == String(compressed.rawBody.count))
        #expect(compressed.rawBody.starts(with: [0x1f, 0x8b]))
        #expect(compressed.rawBody.count < body.utf8.count / 4)
        #expect(try gunzip(compressed.rawBody) == Array(body.utf8))

        for refusal in [nil, "gzip;q=0", "identity", "br"] as [String?] {
            let plain = try client.request("GET", "/metrics", headers: refusal.map { [("Accept-Encoding", $0)] } ?? [])
            #expect(plain.header("Content-Encoding") == nil, "Accept-Encoding: \(refusal ?? "none")")
            #expect(plain.text == body)
        }
    }

    @Test func uncompressibleResponsesStayPlain() throws {
        let server = try Self.start { _ in HTTPResponse(status: 200, body: Array("already small".utf8), compressible: false) }
        defer { server.stop() }
        let response = try HTTPClient(port: server.boundAddresses[0].port).request("GET", "/", headers: [("Accept-Encoding", "gzip")])
        #expect(response.header("Content-Encoding") == nil)
        #expect(response.header("Vary") == nil)
        #expect(response.text == "already small")
    }

    /// An oversized request header is refused without harming the requests around it.
    @Test func oversizedHeaderIsRefused() throws {
        var configuration = HTTPServerConfiguration(listenAddresses: [])
        configuration.connectionMemoryLimit = 16 * 1024
        let server = try Self.start(configuration)
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        let huge = try client.request("GET", "/metrics", headers: [("X-Huge", String(repeating: "a", count: 64 * 1024))])
        #expect([431, 400, 413].contains(huge.status), "status \(huge.status)")
        let longLine = try client.request("GET", "/metrics?" + String(repeating: "b", count: 64 * 1024))
        #expect([414, 431, 400].contains(longLine.status), "status \(longLine.status)")
        #expect(try client.request("GET", "/ok").status == 200)
    }

    /// A client that connects and sends nothing holds only its own connection; it is closed
    /// (with a 408) when its request head is not complete by the deadline.
    @Test func silentClientDoesNotBlockOthers() throws {
        var configuration = HTTPServerConfiguration(listenAddresses: [])
        configuration.requestHeadTimeoutSeconds = 2
        let server = try Self.start(configuration)
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        let silent = try (0..<5).map { _ in try client.connect() }
        defer { withExtendedLifetime(silent) {} }
        let partial = try client.connect()
        defer { withExtendedLifetime(partial) {} }
        try partial.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8))  // never finished

        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<5 { #expect(try client.request("GET", "/ok").status == 200) }
        #expect(clock.now - start < .seconds(1), "others were served while the silent clients waited")

        // The silent connections are closed by the server (EOF) after about 2 s.
        let closedAt = try silent[0].readToEnd()
        #expect(closedAt.isEmpty || String(decoding: closedAt, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
        let waited = clock.now - start
        #expect(waited >= .seconds(1) && waited < .seconds(8), "closed after \(waited)")
    }

    /// Over the concurrency limit the answer is 503 at once; the requests in progress finish.
    @Test func overLimitGets503() throws {
        var configuration = HTTPServerConfiguration(listenAddresses: [])
        configuration.maxConcurrentRequests = 2
        configuration.concurrencyLimitedPaths = ["/slow", "/fast"]
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let server = try Self.start(configuration) { request in
            if request.path == "/slow" {
                inside.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            return .text(200, "done \(request.path)\n")
        }
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)

        let results = Mutex<[Int]>([])
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            Thread {
                let status = (try? client.request("GET", "/slow").status) ?? -1
                results.withLock { $0.append(status) }
                group.leave()
            }.start()
        }
        for _ in 0..<2 { #expect(inside.wait(timeout: .now() + 5) == .success) }

        let clock = ContinuousClock()
        let start = clock.now
        let rejected = try client.request("GET", "/fast")
        #expect(rejected.status == 503)
        #expect(rejected.header("Retry-After") == "1")
        #expect(clock.now - start < .seconds(2))
        // Paths outside the limit still answer.
        #expect(try client.request("GET", "/-/healthy").status == 200)

        release.signal()
        release.signal()
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(results.withLock { $0 } == [200, 200])
        // Capacity is back.
        #expect(try client.request("GET", "/fast").status == 200)
    }

    /// A request body is not read; the answer comes anyway and the server carries on. A body
    /// over the limit is refused with 413 before the handler runs.
    @Test func requestBodyIsIgnored() throws {
        let server = try Self.start { request in .text(request.method == "GET" ? 200 : 405, "\(request.method)\n") }
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        let body = String(repeating: "x", count: 3_000)
        let post = try client.send(Array("POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
        #expect(post.status == 405)
        #expect(post.text == "POST\n")
        let large = try client.send(Array("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".utf8))
        #expect(large.status == 413)
        #expect(large.text == "request body of 100000 bytes, more than 4096\n")
        #expect(try client.request("GET", "/").status == 200)
    }

    /// Connections beyond the limit are closed on accept; capacity returns when they go.
    @Test func connectionLimit() throws {
        var configuration = HTTPServerConfiguration(listenAddresses: [])
        configuration.maxConnections = 3
        let server = try Self.start(configuration)
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        var held = try (0..<3).map { _ in try client.connect() }
        #expect(throws: HTTPFailure.self) { _ = try client.request("GET", "/") }
        held.forEach { $0.close() }
        held = []
        // The server sees the closes on its own threads and announces nothing: poll it, bounded.
        #expect(eventually(timeout: .seconds(5), every: .milliseconds(20)) { (try? client.request("GET", "/").status) == 200 })
    }

    @Test func addressInUseFailsAtStart() throws {
        let first = try Self.start()
        defer { first.stop() }
        let port = first.boundAddresses[0].port
        #expect {
            _ = try Self.start(addresses: ["127.0.0.1:\(port)"])
        } throws: { error in
            guard case let .listenFailed(address, operation, code) = error as? HTTPServerError else { return false }
            return address == "127.0.0.1:\(port)" && operation == "bind" && code == EADDRINUSE
                && "\(error)" == "cannot listen on 127.0.0.1:\(port): bind: Address already in use"
        }
        // The first server is unharmed.
        #expect(try HTTPClient(port: port).request("GET", "/").status == 200)
    }

    /// A later address failing leaves none of the earlier ones listening.
    @Test func partialStartReleasesEverything() throws {
        let blocker = try Self.start()
        defer { blocker.stop() }
        let used = blocker.boundAddresses[0].port
        let free = try freePort()
        #expect(throws: HTTPServerError.self) {
            _ = try Self.start(addresses: ["127.0.0.1:\(free)", "127.0.0.1:\(used)"])
        }
        #expect(throws: HTTPFailure.self) { _ = try HTTPClient(port: free).connect() }
    }

    @Test func unassignedAddressFailsAtStart() throws {
        // 192.0.2.1 (TEST-NET-1) is on no interface here: bind says EADDRNOTAVAIL, nothing is sent.
        #expect {
            _ = try Self.start(addresses: ["192.0.2.1:9100"])
        } throws: { error in
            guard case let .listenFailed(_, operation, code) = error as? HTTPServerError else { return false }
            return operation == "bind" && code == EADDRNOTAVAIL
        }
        #expect(throws: HTTPServerError.invalidAddress("127.0.0.1", reason: "missing port")) {
            _ = try Self.start(addresses: ["127.0.0.1"])
        }
    }

    @Test func ipv6AndDualStack() throws {
        let v6 = try Self.start(addresses: ["[::1]:0"])
        defer { v6.stop() }
        #expect(v6.boundAddresses[0].host == "::1")
        #expect(try HTTPClient(host: "::1", port: v6.boundAddresses[0].port).request("GET", "/six").status == 200)

        // `:port` is one socket for IPv6 and IPv4 alike.
        let any = try Self.start(addresses: [":0"])
        defer { any.stop() }
        let port = any.boundAddresses[0].port
        #expect(any.boundAddresses[0].host == nil)
        #expect(try HTTPClient(host: "::1", port: port).request("GET", "/").status == 200)
        #expect(try HTTPClient(host: "127.0.0.1", port: port).request("GET", "/").status == 200)
    }

    @Test func severalAddressesServeTheSameHandler() throws {
        let server = try Self.start(addresses: ["127.0.0.1:0", "[::1]:0", "localhost:0"])
        defer { server.stop() }
        #expect(server.boundAddresses.count == 3)
        #expect(server.boundAddresses[2].host == "127.0.0.1")
        for address in server.boundAddresses {
            let response = try HTTPClient(host: address.host!, port: address.port).request("GET", "/x?a=1")
            #expect(response.text.contains("query a=1"))
        }
    }

    @Test func stopClosesListenersAndIsIdempotent() throws {
        let server = try Self.start()
        let port = server.boundAddresses[0].port
        #expect(try HTTPClient(port: port).request("GET", "/").status == 200)
        server.stop()
        server.stop()
        #expect(throws: HTTPFailure.self) { _ = try HTTPClient(port: port).connect() }
        // The port is free again.
        let again = try Self.start(addresses: ["127.0.0.1:\(port)"])
        again.stop()
    }

    /// A graceful stop refuses new connections at once, answers the request in progress, and
    /// does not wait for idle keep-alive connections.
    @Test func stopLetsRequestsInProgressFinish() throws {
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let server = try Self.start { request in
            if request.path == "/slow" {
                inside.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            return .text(200, "finished \(request.path)\n")
        }
        let client = HTTPClient(port: server.boundAddresses[0].port)

        // An idle keep-alive connection that already had its answer.
        let idle = try client.connect()
        defer { withExtendedLifetime(idle) {} }
        try idle.send(Array("GET /first HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        var chunk = [UInt8](repeating: 0, count: 4096)
        #expect(recv(idle.fd, &chunk, chunk.count, 0) > 0)

        let result = Mutex<HTTPReply?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let response = try? client.request("GET", "/slow")
            result.withLock { $0 = response }
            done.signal()
        }.start()
        #expect(inside.wait(timeout: .now() + 5) == .success)
        let clock = ContinuousClock()
        let stopped = DispatchSemaphore(value: 0)
        let start = clock.now
        // Threads of their own: the dispatch pool may take a while to add a thread.
        Thread {
            server.stop()
            stopped.signal()
        }.start()
        // New connections are refused while the slow request is still being answered (its
        // handler holds until released). stop() closes the listener without telling anyone:
        // poll the kernel's answer to connect, bounded.
        var refusal: (any Error)?
        _ = eventually(timeout: .seconds(5), every: .milliseconds(5)) {
            do { _ = try client.connect(); return false } catch { refusal = error; return true }
        }
        #expect(refusal is HTTPFailure, "the listener still accepts during stop")
        #expect(stopped.wait(timeout: .now()) == .timedOut, "stop returned before the slow request finished")
        release.signal()
        #expect(stopped.wait(timeout: .now() + 5) == .success)
        #expect(clock.now - start < .seconds(2), "stop waited for the idle connection")
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(result.withLock { $0?.text } == "finished /slow\n")
    }

    @Test func stopGivesUpAfterTheGracePeriod() throws {
        let release = DispatchSemaphore(value: 0)
        let inside = DispatchSemaphore(value: 0)
        let calls = Atomic<Int>(0)
        let server = try Self.start { _ in
            inside.signal()
            calls.wrappingAdd(1, ordering: .relaxed)
            _ = release.wait(timeout: .now() + 10)
            return .text(200, "late\n")
        }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        Thread { _ = try? client.request("GET", "/") }.start()
        #expect(inside.wait(timeout: .now() + 5) == .success)
        let clock = ContinuousClock()
        let start = clock.now
        // Time passes on purpose: the handler outlives the 200 ms grace period by far.
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { release.signal() }
        server.stop(gracePeriod: .milliseconds(200))
        // stop waited the grace period, then for the handler's thread to be joined.
        let waited = clock.now - start
        #expect(waited >= .milliseconds(200) && waited < .seconds(5))
        // The handler ran once although its response could not be queued any more.
        #expect(calls.load(ordering: .relaxed) == 1)
    }
}

/// A port nothing listens on right now (bound to 0, read back, closed).
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ptr -> Int32 in
            bind(fd, ptr, length)
            return getsockname(fd, ptr, &length)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}
