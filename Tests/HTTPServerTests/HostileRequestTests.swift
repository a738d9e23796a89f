#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import HTTPServer

/// What a hostile client gets back, read to the end of the connection.
struct RawAnswer {
    let bytes: [UInt8]

    /// Sends `request` on a new connection (a write the server cuts short is fine) and reads
    /// until the server closes.
    static func exchange(_ request: [UInt8], port: UInt16, halfClose: Bool = false) throws -> RawAnswer {
        RawAnswer(bytes: try HTTPClient(port: port).exchange(request, halfClose: halfClose))
    }

    /// Lines that are status lines (`HTTP/1.x NNN …`): more than one means a doubled header block.
    var statusLines: Int {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").filter { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            return parts.count >= 2 && (parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0") && parts[1].count == 3 && parts[1].allSatisfy(\.isNumber)
        }.count
    }

    /// Exactly one response: a status line, headers with Content-Type, nosniff and a
    /// Content-Length equal to the body that follows, and nothing else.
    func wellFormed() throws -> HTTPReply {
        let response = try HTTPReply(parsing: bytes)
        guard statusLines == 1 else { throw HTTPFailure("\(statusLines) status lines") }
        guard response.header("Content-Type") != nil else { throw HTTPFailure("no Content-Type") }
        guard response.header("X-Content-Type-Options") == "nosniff" else { throw HTTPFailure("no nosniff") }
        guard let length = response.header("Content-Length").flatMap(Int.init), length == response.rawBody.count else {
            throw HTTPFailure("Content-Length \(response.header("Content-Length") ?? "none") for \(response.rawBody.count) body bytes")
        }
        return response
    }
}

@Suite struct RequestHeadTests {
    static func verdict(_ text: String, limits: RequestHead.Limits = .init()) -> RequestHead.Verdict {
        Array(text.utf8).withUnsafeBytes { RequestHead.evaluate($0, limits: limits) }
    }

    static func status(_ text: String) -> Int? {
        if case let .rejected(rejection) = verdict(text) { return rejection.status }
        return nil
    }

    @Test func acceptsOrdinaryRequests() {
        let get = "GET /metrics?collect[]=sockets&exclude%5B%5D=udp HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
        #expect(Self.verdict(get) == .accepted(length: get.utf8.count))
        #expect(Self.verdict("GET / HTTP/1.0\r\n\r\n") == .accepted(length: 18))
        #expect(Self.status("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n") == nil)
        // Pipelined bytes after the head do not matter.
        #expect(Self.verdict("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n") == .accepted(length: 18))
    }

    @Test func waitsForTheRestOfAHead() {
        #expect(Self.verdict("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabc") == .incomplete, "the body too")
        let whole = "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
        #expect(Self.verdict(whole + "GET") == .accepted(length: whole.utf8.count))
        #expect(Self.verdict("") == .incomplete)
        #expect(Self.verdict("G") == .incomplete)
        #expect(Self.verdict("GET /metrics HTTP/1.1\r\nHost: x\r\n") == .incomplete)
    }

    @Test(arguments: [
        ("GET /metrics HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 request without a Host header"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host header"),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header name (whitespace before the colon, or a line folded onto the previous one)"),
        ("GET /metrics%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request path contains a control character once decoded"),
        ("GET /a%0d%0ab HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request path contains a control character once decoded"),
        ("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed percent escape in the request target"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "more than one Content-Length header"),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length is not a decimal number of bytes"),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400, "Content-Length is not a decimal number of bytes"),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "Content-Length is not a decimal number of bytes"),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400, "a GET request must not have a body"),
        ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Transfer-Encoding is not accepted (request bodies are not read)"),
        ("GET / HTTP/2.0\r\n\r\n", 505, "HTTP version HTTP/2.0 is not supported (HTTP/1.0 and HTTP/1.1 are)"),
        ("GET /\r\n\r\n", 400, "request line without an HTTP version (HTTP/0.9 is not served)"),
        ("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target must be a path starting with /"),
        ("GET / HTTP/1.1\nHost: x\n\n", 400, "a line of the request head does not end in CRLF"),
    ])
    func refuses(request: String, status: Int, reason: String) {
        #expect(Self.verdict(request) == .rejected(.init(status: status, reason: reason)))
    }

    @Test func boundsSizesAndCounts() {
        let many = (0..<600).map { _ in "c=r" }.joined(separator: "&")
        #expect(Self.verdict("GET /metrics?\(many) HTTP/1.1\r\nHost: x\r\n\r\n") == .rejected(.init(status: 400, reason: "more than 64 query parameters")))
        #expect(Self.verdict("GET /?\(String(repeating: "q", count: 4097)) HTTP/1.1\r\nHost: x\r\n\r\n") == .rejected(.init(status: 414, reason: "query string longer than 4096 bytes")))
        let sixtyFive = (0..<65).map { _ in "c" }.joined(separator: "&")
        #expect(Self.verdict("GET /?\(sixtyFive) HTTP/1.1\r\nHost: x\r\n\r\n") == .rejected(.init(status: 400, reason: "more than 64 query parameters")))
        #expect(Self.status("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\n") == 414)
        #expect(Self.status("GET /\(String(repeating: "a", count: 9000))") == 414)
        #expect(Self.status("GET / HTTP/1.1\r\nHost: x\r\nX: \(String(repeating: "a", count: 17000))") == 431)
        let headers = (0..<65).map { "X-\($0): 1\r\n" }.joined()
        #expect(Self.status("GET / HTTP/1.1\r\nHost: x\r\n\(headers)\r\n") == 431)
    }

    /// What cannot become a request is answered without waiting for the deadline.
    @Test func refusesGarbageBeforeTheHeadEnds() {
        #expect(Self.status("\u{16}\u{03}\u{01}\u{00}") == 400)
        #expect(Self.status("PRI * HTTP/2.0\r\n") == 505)
        #expect(Self.status("hello world\r\n") == 400)
    }
}

/// Items 3, 4 and 6 of issue 11 over real sockets, and a corpus of hostile requests.
@Suite struct HostileRequestTests {
    static func start() throws -> HTTPServer {
        try HTTPServerTests.start()
    }

    @Test(arguments: [
        // 6: lenient parsing.
        ("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "HTTP/1.1 request without a Host header\n"),
        ("GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host header\n"),
        ("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "more than one Content-Length header\n"),
        ("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400,
         "malformed header name (whitespace before the colon, or a line folded onto the previous one)\n"),
        ("GET /metrics%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request path contains a control character once decoded\n"),
        // 4: malformed Content-Length (libmicrohttpd wrote its header block twice).
        ("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length is not a decimal number of bytes\n"),
        ("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400, "Content-Length is not a decimal number of bytes\n"),
        ("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, "Content-Length is not a decimal number of bytes\n"),
        ("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", 413, "request body of 999999999 bytes, more than 4096\n"),
        // A body on GET.
        ("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400, "a GET request must not have a body\n"),
        // 3: about 600 query parameters (2.4 KB): answered, not dropped.
        ("GET /metrics?" + Array(repeating: "c=r", count: 600).joined(separator: "&") + " HTTP/1.1\r\nHost: x\r\n\r\n", 400,
         "more than 64 query parameters\n"),
        ("GET /metrics?" + String(repeating: "c", count: 5000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "query string longer than 4096 bytes\n"),
    ])
    func answeredOnceWithTheReason(request: String, status: Int, text: String) throws {
        let server = try Self.start()
        defer { server.stop() }
        let answer = try RawAnswer.exchange(Array(request.utf8), port: server.boundAddresses[0].port)
        let response = try answer.wellFormed()
        #expect(response.status == status)
        #expect(response.text == text)
        #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(answer.statusLines == 1)
    }

    /// Handler answers carry the same safety headers as the server's own.
    @Test func everyResponseHasContentTypeAndNosniff() throws {
        let server = try HTTPServerTests.start { _ in HTTPResponse(status: 204) }
        defer { server.stop() }
        let client = HTTPClient(port: server.boundAddresses[0].port)
        let response = try client.request("GET", "/")
        #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(response.header("X-Content-Type-Options") == "nosniff")
        #expect(response.header("Connection") == "close")
    }

    /// More than 100 hostile requests: none crashes the server, each gets one well-formed
    /// answer or a clean close, and an ordinary request afterwards is answered correctly.
    @Test func hostileCorpus() throws {
        var configuration = HTTPServerConfiguration(listenAddresses: [])
        configuration.requestHeadTimeoutSeconds = 1
        let server = try HTTPServerTests.start(configuration)
        defer { server.stop() }
        let port = server.boundAddresses[0].port
        let corpus = HostileCorpus.requests
        #expect(corpus.count >= 100)
        var answered = 0
        for (index, request) in corpus.enumerated() {
            let answer = try RawAnswer.exchange(request.bytes, port: port, halfClose: request.halfClose)
            if answer.bytes.isEmpty { continue }  // a clean close
            do {
                let response = try answer.wellFormed()
                #expect((200...599).contains(response.status))
                answered += 1
            } catch {
                Issue.record("request \(index) (\(request.name)): \(error): \(String(decoding: answer.bytes.prefix(300), as: UTF8.self).debugDescription)")
            }
        }
        #expect(answered >= corpus.count * 9 / 10, "most hostile requests get an answer saying why")
        let response = try HTTPClient(port: port).request("GET", "/metrics?collect[]=a&x=%2F", headers: [("X-Test", "after")])
        #expect(response.status == 200)
        #expect(response.text == "method GET\npath /metrics\nversion HTTP/1.1\nquery collect[]=a\nquery x=/\nheader x-test=after\n")
    }
}

/// Garbage, HTTP/0.9, the HTTP/2 preface, huge heads, smuggling shapes and pipelining.
enum HostileCorpus {
    struct Request {
        var name: String
        var bytes: [UInt8]
        /// Close the sending side after the bytes (a head that never ends).
        var halfClose = false
    }

    static var requests: [Request] {
        var list: [Request] = []
        func add(_ name: String, _ text: String, halfClose: Bool = false) { list.append(Request(name: name, bytes: Array(text.utf8), halfClose: halfClose)) }
        func head(_ requestLine: String, _ headers: [String] = ["Host: x"], body: String = "") -> String {
            requestLine + "\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n" + body
        }
        // Garbage: deterministic pseudo-random bytes of many lengths.
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        for length in [1, 2, 3, 4, 7, 16, 64, 200, 1000, 4096, 20000, 5, 9, 33, 128, 512, 2048, 8191, 17, 100] {
            var bytes: [UInt8] = []
            for _ in 0..<length {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: seed >> 33))
            }
            list.append(Request(name: "random \(length)", bytes: bytes, halfClose: true))
        }
        for text in ["\r\n", "\r\n\r\n", "\n\n", " ", "\0\0\0\0", "GET", "GET ", "GET /", "\u{7f}ELF", "SSH-2.0-OpenSSH_9.2\r\n"] {
            add("fragment \(text.debugDescription)", text, halfClose: true)
        }
        // Other protocols.
        add("HTTP/0.9", "GET /\r\n")
        add("HTTP/0.9 metrics", "GET /metrics\r\n\r\n")
        add("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        list.append(Request(name: "TLS hello", bytes: [0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03] + Array(repeating: 0x41, count: 64)))
        add("HTTP/2 upgrade", head("GET / HTTP/1.1", ["Host: x", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"]))
        add("websocket", head("GET / HTTP/1.1", ["Host: x", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13"]))
        // Versions and request lines.
        for version in ["HTTP/1.2", "HTTP/2.0", "HTTP/3", "HTTP/1.10", "http/1.1", "HTTP/1", "HTTP/1.1 ", "HTTX/1.1", "HTTP/9.9", ""] {
            add("version \(version.debugDescription)", head("GET / \(version)"))
        }
        for line in ["get / HTTP/1.1", "GET  / HTTP/1.1", "GET\t/ HTTP/1.1", " GET / HTTP/1.1", "G@T / HTTP/1.1",
                     "GETGETGETGETGETGETGET / HTTP/1.1", "GET http://x/ HTTP/1.1", "CONNECT x:443 HTTP/1.1", "OPTIONS * HTTP/1.1",
                     "GET /\u{e9} HTTP/1.1", "GET /a b HTTP/1.1", "GET ../../etc/passwd HTTP/1.1", "GET /%2e%2e/%2e%2e HTTP/1.1",
                     "GET /%00 HTTP/1.1", "GET /%0a HTTP/1.1", "GET /%7f HTTP/1.1", "GET /% HTTP/1.1", "GET /%g0 HTTP/1.1",
                     "GET /?a=%00 HTTP/1.1", "GET /?%zz HTTP/1.1", "DELETE /metrics HTTP/1.1", "TRACE / HTTP/1.1",
                     "GET / HTTP/1.1 extra", "GET /" + String(repeating: "a", count: 10000) + " HTTP/1.1"] {
            add("line \(line.prefix(40).debugDescription)", head(line))
        }
        // Headers.
        add("no Host", head("GET / HTTP/1.1", []))
        add("empty Host", head("GET / HTTP/1.1", ["Host:"]))
        add("two Host", head("GET / HTTP/1.1", ["Host: a", "Host: b"]))
        add("space before colon", head("GET / HTTP/1.1", ["Host : x"]))
        add("obs-fold", head("GET / HTTP/1.1", ["Host: x", "X-A: 1", " folded"]))
        add("no colon", head("GET / HTTP/1.1", ["Host: x", "Nonsense"]))
        add("empty name", head("GET / HTTP/1.1", ["Host: x", ": value"]))
        add("NUL in value", head("GET / HTTP/1.1", ["Host: x", "X-A: a\0b"]))
        add("CR in value", head("GET / HTTP/1.1", ["Host: x", "X-A: a\rb"]))
        add("bare LF lines", "GET / HTTP/1.1\nHost: x\n\n")
        add("mixed line ends", "GET / HTTP/1.1\r\nHost: x\n\r\n")
        add("huge header", head("GET / HTTP/1.1", ["Host: x", "X-Big: " + String(repeating: "b", count: 20000)]))
        add("huge name", head("GET / HTTP/1.1", ["Host: x", String(repeating: "N", count: 9000) + ": 1"]))
        add("many headers", head("GET / HTTP/1.1", ["Host: x"] + (0..<300).map { "X-\($0): 1" }))
        add("600 parameters", head("GET /metrics?" + Array(repeating: "c=r", count: 600).joined(separator: "&") + " HTTP/1.1"))
        add("long query", head("GET /metrics?q=" + String(repeating: "q", count: 6000) + " HTTP/1.1"))
        add("bad Accept", head("GET / HTTP/1.1", ["Host: x", "Accept: ;;;,,,q=abc"]))
        add("bad Accept-Encoding", head("GET / HTTP/1.1", ["Host: x", "Accept-Encoding: gzip;q=nan, *;q=-1"]))
        // Smuggling shapes.
        for headers in [["Content-Length: 5", "Transfer-Encoding: chunked"], ["Transfer-Encoding: chunked"], ["Transfer-Encoding:  chunked"],
                        ["Transfer-Encoding: chunked, identity"], ["Transfer-Encoding: xchunked"], ["Content-Length: 1", "Content-Length: 2"],
                        ["Content-Length: 3", "Content-Length: 3"], ["Content-Length: -1"], ["Content-Length: +3"], ["Content-Length: 0x3"],
                        ["Content-Length: 3 3"], ["Content-Length: 1x"], ["Content-Length: 99999999999999999999"], ["Content-Length:"],
                        ["Content-Length: 3, 3"], ["Content-Length : 3"], ["Expect: 100-continue", "Content-Length: 3"]] {
            add("GET smuggle \(headers)", head("GET / HTTP/1.1", ["Host: x"] + headers, body: "abc"))
            add("POST smuggle \(headers)", head("POST /-/reload HTTP/1.1", ["Host: x"] + headers, body: "abc"))
        }
        add("chunked body", head("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"], body: "3\r\nabc\r\n0\r\n\r\n"))
        // Pipelining.
        let plain = head("GET /one HTTP/1.1")
        add("two pipelined", plain + head("GET /two HTTP/1.1"))
        add("hundred pipelined", String(repeating: plain, count: 100))
        add("pipelined then garbage", plain + "\u{1}\u{2}\u{3}garbage")
        add("pipelined smuggle", plain + head("GET /x HTTP/1.1", ["Host: x", "Content-Length: -1"]))
        add("HTTP/1.0 keep-alive", head("GET / HTTP/1.0", ["Connection: keep-alive"]) + head("GET / HTTP/1.0", []))
        // Heads that never end.
        add("unfinished head", "GET / HTTP/1.1\r\nHost: x\r\n", halfClose: true)
        add("unfinished line", "GET / HTTP/1.1", halfClose: true)
        add("timeout", "GET / HTTP/1.1\r\nHost: x\r\n")
        return list
    }
}

/// Log lines kept in memory.
final class LogLines: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    var all: [String] { lines.withLock { $0 } }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let fields = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.withLock { $0.append("\(level) \(message) \(fields)") }
    }
}

@Suite struct ConnectionLimitTests {
    /// Connections beyond the per-client limit are closed at once, other clients are served,
    /// and the refusals make one log line with their count, not one each.
    @Test func perClientLimitAndCountedWarnings() throws {
        var configuration = HTTPServerConfiguration(listenAddresses: try [ListenAddress(parsing: "127.0.0.1:0"), ListenAddress(parsing: "[::1]:0")])
        configuration.maxConnectionsPerClient = 2
        configuration.logIntervalSeconds = 1
        let log = LogLines()
        let server = try HTTPServer(configuration: configuration, logger: Logger(label: "test") { _ in log }, handler: HTTPServerTests.echo)
        defer { server.stop() }
        let port = server.boundAddresses[0].port
        let client = HTTPClient(port: port)
        let held = try (0..<2).map { _ in try client.connect() }
        defer { held.forEach { $0.close() } }
        // Each further connection from 127.0.0.1 is accepted by the kernel, then closed unanswered.
        for _ in 0..<5 {
            let refused = try client.connect()
            defer { refused.close() }
            #expect(try refused.readToEnd(resetEndsIt: true).isEmpty, "closed at once (EOF), not after the 5 s deadline")
        }
        // Another address is another client.
        let other = try HTTPClient(host: "::1", port: server.boundAddresses[1].port).request("GET", "/other")
        #expect(other.status == 200)
        // Within a bounded wait, one line for the five refusals.
        // The gate logs once per interval and says nothing when: poll the log, bounded.
        var refusals: [String] = []
        _ = eventually(timeout: .seconds(3), every: .milliseconds(50)) {
            refusals = log.all.filter { $0.contains("from one client address") }
            return !refusals.isEmpty
        }
        #expect(refusals == ["warning refused connections: 2 connections from one client address already waiting for their request count=5 interval=1.0 seconds"])
    }
}
