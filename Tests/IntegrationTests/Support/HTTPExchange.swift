#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport

/// A parsed HTTP/1.1 response.
struct HTTPReply: Sendable {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }

    struct Malformed: Error, CustomStringConvertible { let description: String }

    /// Parses a whole response read to the end of the connection: status line, headers, and
    /// a body delimited by Content-Length, chunked encoding or the end of the connection
    /// (none for a reply to HEAD, whose Content-Length describes the GET body).
    init(raw: [UInt8], toHEAD: Bool = false) throws {
        guard let end = Self.find([13, 10, 13, 10], in: raw, from: 0) else {
            throw Malformed(description: "no end of headers in \(raw.count) bytes: \(String(decoding: raw.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: raw[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Malformed(description: "bad status line \(head[0].debugDescription)")
        }
        self.status = status
        headers = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Malformed(description: "bad header line \(line.debugDescription)") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = Array(raw[(end + 4)...])
        if toHEAD {
            guard rest.isEmpty else { throw Malformed(description: "\(rest.count) body bytes after a reply to HEAD") }
            body = []
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            body = try Self.dechunk(rest)
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            guard rest.count >= length else { throw Malformed(description: "body \(rest.count) bytes, Content-Length \(length)") }
            body = Array(rest.prefix(length))
        } else {
            body = rest
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: i) else { throw Malformed(description: "truncated chunk size") }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Malformed(description: "bad chunk size \(sizeText)") }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= bytes.count else { throw Malformed(description: "truncated chunk") }
            out += bytes[i..<(i + size)]
            i += size + 2
        }
    }
}

/// A blocking HTTP client on a plain socket, used inside `ns.run { }` so its connection is in
/// the test's namespace. Every read and write has a timeout.
enum HTTPExchange {
    /// Sends `request` bytes as they are (for malformed or oversized requests) and reads the
    /// reply (what arrived, possibly nothing, when the server closed before taking it all).
    /// With `localPort`, the client binds that port first (one outside the ephemeral range
    /// keeps the scrape's own socket out of the port counts) and closes with a RST, so no
    /// TIME_WAIT is left behind to change the next count.
    static func raw(_ request: [UInt8], host: String = "127.0.0.1", port: Int, localPort: Int? = nil, timeout: Int = 30) throws -> [UInt8] {
        let family: SocketTableEntry.Family = host.contains(":") ? .ipv6 : .ipv4
        let socket = try TestSocket(family, udp: false)
        try socket.setTimeout(seconds: timeout)
        try socket.abortOnClose()
        if let localPort {
            try socket.setOption(SOL_SOCKET, SO_REUSEADDR)
            try socket.bind(host, localPort)
        }
        try socket.connect(host, port)
        // A server may answer and close before a long request is written: read what it said.
        do { try socket.write(request) } catch is TestSocket.Failure {
            return (try? socket.readToEnd()) ?? []
        }
        return try socket.readToEnd()
    }

    /// One request with `Connection: close`; the reply parsed.
    static func request(_ method: String = "GET", _ target: String, headers: [String: String] = [:], host: String = "127.0.0.1",
                        port: Int, localPort: Int? = nil, timeout: Int = 30) throws -> HTTPReply {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return try HTTPReply(raw: raw(Array(text.utf8), host: host, port: port, localPort: localPort, timeout: timeout),
                             toHEAD: method == "HEAD")
    }
}

/// A `portpressure serve` running in a test namespace, and its port.
struct ServeProcess {
    let process: RunningProcess
    let port: Int

    /// Starts `serve` on `127.0.0.1:port` with `extra` flags and waits (bounded) until
    /// `/-/healthy` answers. Its probes close with a RST and leave nothing behind.
    static func start(in ns: NetworkNamespace, port: Int, extra: [String] = [], timeout: Double = 30) throws -> ServeProcess {
        let process = try ns.launch([BuiltProducts.path("portpressure"), "serve", "--web.listen-address", "127.0.0.1:\(port)"] + extra)
        let deadline = timeout * 1_000_000
        var waited = 0.0
        while waited < deadline {
            if !process.isRunning {
                throw NetworkNamespace.Failure("serve exited at start: \(process.stderr)")
            }
            if let reply = try? ns.run({ try HTTPExchange.request("GET", "/-/healthy", port: port, timeout: 5) }), reply.status == 200 {
                return ServeProcess(process: process, port: port)
            }
            usleep(20_000)
            waited += 20_000
        }
        process.stop()
        throw NetworkNamespace.Failure("serve did not answer /-/healthy within \(timeout) s: \(process.stderr)")
    }
}
