#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SocketModel

/// Any failure of `HTTPClient` or of parsing a response: no connection, a timeout, bytes that
/// are not HTTP.
public struct HTTPFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A whole HTTP/1.x response, read to the end of its connection.
public struct HTTPReply: Sendable {
    public var status: Int
    /// In the order received, names as sent.
    public var headers: [(name: String, value: String)]
    /// Every byte after the blank line, as received: what a test of framing (HEAD, exact
    /// Content-Length) looks at.
    public var rawBody: [UInt8]
    /// The message body: de-chunked, or exactly Content-Length bytes, or up to the end of the
    /// connection; none for a reply to HEAD (whose Content-Length describes the GET body).
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The value of the first header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Parses status line, headers and body. Strict: a reply to HEAD with body bytes, a
    /// Content-Length other than the bytes that came, or a truncated chunk throws.
    public init(parsing raw: [UInt8], toHEAD: Bool = false) throws(HTTPFailure) {
        guard let end = Self.find([13, 10, 13, 10], in: raw, from: 0) else {
            throw HTTPFailure("no end of headers in \(raw.count) bytes: \(String(decoding: raw.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: raw[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = head[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw HTTPFailure("bad status line \(String(head[0]).debugDescription)")
        }
        self.status = status
        headers = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPFailure("bad header line \(String(line).debugDescription)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        rawBody = Array(raw[(end + 4)...])
        body = []
        if toHEAD {
            guard rawBody.isEmpty else { throw HTTPFailure("\(rawBody.count) body bytes after a reply to HEAD") }
        } else if header("Transfer-Encoding")?.lowercased() == "chunked" {
            body = try Self.dechunk(rawBody)
        } else if let lengthText = header("Content-Length") {
            guard let length = Int(lengthText), rawBody.count == length else {
                throw HTTPFailure("body \(rawBody.count) bytes, Content-Length \(lengthText)")
            }
            body = rawBody
        } else {
            body = rawBody
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// Undoes `Transfer-Encoding: chunked` (chunk extensions ignored, trailers not allowed).
    public static func dechunk(_ bytes: [UInt8]) throws(HTTPFailure) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: i) else { throw HTTPFailure("truncated chunk size") }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false)[0]
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw HTTPFailure("bad chunk size \(sizeText.debugDescription)")
            }
            i = lineEnd + 2
            if size == 0 {
                guard bytes.count == i + 2, bytes[i] == 13, bytes[i + 1] == 10 else { throw HTTPFailure("bad end of chunked body") }
                return out
            }
            guard i + size + 2 <= bytes.count, bytes[i + size] == 13, bytes[i + size + 1] == 10 else {
                throw HTTPFailure("truncated chunk")
            }
            out += bytes[i..<(i + size)]
            i += size + 2
        }
    }
}

/// A blocking HTTP/1.1 client on a plain `TestSocket`: exact bytes out, every byte back until
/// the server closes (each request says `Connection: close`). Every wait is bounded by
/// SO_RCVTIMEO/SO_SNDTIMEO; every connection closes with a RST, so the client leaves no
/// TIME_WAIT behind to change a later count. Use it inside `ns.run { }` to reach a server in
/// a test namespace.
public struct HTTPClient: Sendable {
    public var host: String
    public var port: UInt16
    public var timeoutSeconds: Int
    /// Binds this local port before connecting (one outside the ephemeral range keeps the
    /// client's own socket out of port counts).
    public var localPort: UInt16?

    public init(host: String = "127.0.0.1", port: some BinaryInteger, timeoutSeconds: Int = 10, localPort: UInt16? = nil) {
        self.host = host
        self.port = UInt16(port)
        self.timeoutSeconds = timeoutSeconds
        self.localPort = localPort
    }

    /// A connected socket with the client's timeouts.
    public func connect() throws(HTTPFailure) -> TestSocket {
        do {
            guard let address = IPAddress(host) else { throw HTTPFailure("not an address: \(host)") }
            let socket = try TestSocket(address.family, .tcp)
            try socket.setTimeout(seconds: timeoutSeconds)
            try socket.abortOnClose()
            if let localPort {
                try socket.setOption(SOL_SOCKET, SO_REUSEADDR)
                try socket.bind(SocketEndpoint(address: address, port: localPort))
            }
            try socket.connect(SocketEndpoint(address: address, port: port))
            return socket
        } catch let error as HTTPFailure {
            throw error
        } catch {
            throw HTTPFailure("\(host):\(port): \(error)")
        }
    }

    /// Sends `request` as it is (malformed or oversized requests too) on a new connection and
    /// returns every byte of the answer; possibly none, when the server closed (or reset)
    /// before answering. `halfClose` shuts the sending side after the request (a head that
    /// never ends), so a server waiting for more sees the end of the stream.
    public func exchange(_ request: [UInt8], halfClose: Bool = false) throws(HTTPFailure) -> [UInt8] {
        let socket = try connect()
        do {
            // A server may answer and close before a long request is written: read what it said.
            // A read that times out after such a failed write still throws: a server that
            // neither reads nor answers has hung.
            do { try socket.send(request) } catch {}
            if halfClose { shutdown(socket.fd, Int32(SHUT_WR)) }
            return try socket.readToEnd(resetEndsIt: true)
        } catch {
            throw HTTPFailure("\(host):\(port): \(error)")
        }
    }

    /// Sends `request` as it is and parses the answer.
    public func send(_ request: [UInt8], toHEAD: Bool = false) throws(HTTPFailure) -> HTTPReply {
        try HTTPReply(parsing: exchange(request), toHEAD: toHEAD)
    }

    /// The request line, `Host`, `Connection: close` and `headers`, in that order.
    public func requestBytes(_ method: String, _ target: String, headers: [(String, String)]) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// One request; the answer parsed (as a reply to HEAD when `method` is HEAD).
    public func request(_ method: String = "GET", _ target: String, headers: [(String, String)] = []) throws(HTTPFailure) -> HTTPReply {
        try send(requestBytes(method, target, headers: headers), toHEAD: method == "HEAD")
    }
}
