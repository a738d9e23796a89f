/// The strict check every request passes before libmicrohttpd sees it: the request line and
/// headers as received, judged whole (RFC 9112), with bounded sizes and counts.
///
/// libmicrohttpd 0.9.75 is lenient where an exporter should not be (HTTP/1.1 without `Host`,
/// two `Host`s, conflicting `Content-Length`s, `Host : x`, `%00` in the path all reach the
/// handler), closes the connection without an answer when a query's parameters exhaust its
/// per-connection memory, and writes its status line and headers twice when it refuses a
/// malformed `Content-Length` (see `HTTPGate`). Requests that would reach those paths are
/// answered here instead, with a plain-text reason; MHD then parses only heads that passed.
///
/// Pure: bytes in, a verdict out, so it is tested and fuzzed without sockets.
public enum RequestHead {
    /// Bounds on a request head.
    public struct Limits: Sendable, Hashable {
        /// Request line and headers together, terminating blank line included.
        public var headBytes: Int
        /// The request target (path and query) as sent.
        public var targetBytes: Int
        /// The query string as sent (after `?`).
        public var queryBytes: Int
        public var queryParameters: Int
        public var headerCount: Int
        /// The largest `Content-Length` accepted on methods that may carry a body. The body
        /// must arrive with the head (within the same deadline), so that a request reaches
        /// libmicrohttpd whole and a slow body cannot hold one of its threads.
        public var bodyBytes: Int

        public init(headBytes: Int = 16 * 1024, targetBytes: Int = 8 * 1024, queryBytes: Int = 4 * 1024,
                    queryParameters: Int = 64, headerCount: Int = 64, bodyBytes: Int = 4 * 1024) {
            self.headBytes = headBytes
            self.targetBytes = targetBytes
            self.queryBytes = queryBytes
            self.queryParameters = queryParameters
            self.headerCount = headerCount
            self.bodyBytes = bodyBytes
        }
    }

    /// Why a head is refused: the status to answer and the reason, in words for the body.
    public struct Rejection: Error, Sendable, Hashable {
        public var status: Int
        public var reason: String
    }

    public enum Verdict: Sendable, Hashable {
        /// The blank line that ends the head has not arrived yet and the bytes so far are fine.
        case incomplete
        /// A well-formed request: head (blank line included) and body, `length` bytes in all.
        case accepted(length: Int)
        case rejected(Rejection)
    }

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

    /// Judges the bytes received so far on a connection.
    public static func evaluate(_ bytes: UnsafeRawBufferPointer, limits: Limits = Limits()) -> Verdict {
        // A request line over the target limit is 414 even before the head ends.
        let firstLineEnd = bytes.firstIndex(of: lf)
        if firstLineEnd == nil, bytes.count > limits.targetBytes + 32 {
            return .rejected(Rejection(status: 414, reason: "request line longer than \(limits.targetBytes + 32) bytes"))
        }
        guard let end = headEnd(bytes) else {
            if bytes.count >= limits.headBytes {
                return .rejected(Rejection(status: 431, reason: "request head longer than \(limits.headBytes) bytes"))
            }
            return prefixIsPlausible(bytes, firstLineEnd: firstLineEnd, limits: limits)
        }
        guard end <= limits.headBytes else {
            return .rejected(Rejection(status: 431, reason: "request head longer than \(limits.headBytes) bytes"))
        }
        let body: Int
        do throws(Rejection) {
            body = try check(UnsafeRawBufferPointer(rebasing: bytes[..<end]), limits: limits)
        } catch {
            return .rejected(error)
        }
        guard end + body <= limits.headBytes else {
            return .rejected(Rejection(status: 413, reason: "request head and body longer than \(limits.headBytes) bytes"))
        }
        return bytes.count >= end + body ? .accepted(length: end + body) : .incomplete
    }

    /// The offset just past the blank line that ends the head, or nil.
    static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = 3
        while index < bytes.count {
            if bytes[index] == lf, bytes[index - 1] == cr, bytes[index - 2] == lf, bytes[index - 3] == cr { return index + 1 }
            index += 1
        }
        return nil
    }

    /// Refuses at once what cannot become a valid head (binary garbage, a TLS hello, the
    /// HTTP/2 preface's first line), so such clients are answered without waiting for the deadline.
    private static func prefixIsPlausible(_ bytes: UnsafeRawBufferPointer, firstLineEnd: Int?, limits: Limits) -> Verdict {
        for byte in bytes where byte < 0x20 && byte != cr && byte != lf && byte != tab || byte == 0x7f {
            return .rejected(Rejection(status: 400, reason: "control character in the request head"))
        }
        if let firstLineEnd {
            guard firstLineEnd > 0, bytes[firstLineEnd - 1] == cr else {
                return .rejected(Rejection(status: 400, reason: "a line of the request head does not end in CRLF"))
            }
            do throws(Rejection) {
                _ = try requestLine(UnsafeRawBufferPointer(rebasing: bytes[..<(firstLineEnd - 1)]), limits: limits)
            } catch {
                return .rejected(error)
            }
        }
        return .incomplete
    }

    // MARK: The whole head

    /// Checks a whole head; returns its `Content-Length` (0 without one).
    private static func check(_ head: UnsafeRawBufferPointer, limits: Limits) throws(Rejection) -> Int {
        var lines: [UnsafeRawBufferPointer] = []
        var start = 0
        for index in head.indices where head[index] == lf {
            guard index > start, head[index - 1] == cr else {
                throw Rejection(status: 400, reason: "a line of the request head does not end in CRLF")
            }
            lines.append(UnsafeRawBufferPointer(rebasing: head[start..<(index - 1)]))
            start = index + 1
        }
        // The last line is the empty one that ends the head.
        guard let first = lines.first, lines.last?.isEmpty == true else {
            throw Rejection(status: 400, reason: "malformed request head")
        }
        let line = try requestLine(first, limits: limits)
        let headers = lines.dropFirst().dropLast()
        guard headers.count <= limits.headerCount else {
            throw Rejection(status: 431, reason: "more than \(limits.headerCount) header fields")
        }
        var hosts = 0
        var contentLengths: [Substring] = []
        for header in headers {
            let (name, value) = try field(header)
            switch name.lowercased() {
            case "host": hosts += 1
            case "content-length": contentLengths.append(value)
            case "transfer-encoding":
                throw Rejection(status: 400, reason: "Transfer-Encoding is not accepted (request bodies are not read)")
            default: break
            }
        }
        guard hosts <= 1 else { throw Rejection(status: 400, reason: "more than one Host header") }
        if line.version == "HTTP/1.1", hosts == 0 { throw Rejection(status: 400, reason: "HTTP/1.1 request without a Host header") }
        guard contentLengths.count <= 1 else { throw Rejection(status: 400, reason: "more than one Content-Length header") }
        guard let text = contentLengths.first else { return 0 }
        guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy(isDigit),
              let length = Int(text)
        else { throw Rejection(status: 400, reason: "Content-Length is not a decimal number of bytes") }
        if line.method == "GET" || line.method == "HEAD", length > 0 {
            throw Rejection(status: 400, reason: "a \(line.method) request must not have a body")
        }
        guard length <= limits.bodyBytes else {
            throw Rejection(status: 413, reason: "request body of \(length) bytes, more than \(limits.bodyBytes)")
        }
        return length
    }

    private struct RequestLine {
        var method: String
        var version: String
    }

    /// `METHOD SP origin-form SP HTTP/1.x`, with the target's path and query checked.
    private static func requestLine(_ line: UnsafeRawBufferPointer, limits: Limits) throws(Rejection) -> RequestLine {
        let parts = line.split(separator: space, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            if parts.count == 2, parts[0].allSatisfy(isTokenByte) {
                throw Rejection(status: 400, reason: "request line without an HTTP version (HTTP/0.9 is not served)")
            }
            throw Rejection(status: 400, reason: "malformed request line")
        }
        let (methodBytes, target, versionBytes) = (parts[0], parts[1], parts[2])
        guard !methodBytes.isEmpty, methodBytes.count <= 16, methodBytes.allSatisfy(isTokenByte) else {
            throw Rejection(status: 400, reason: "malformed method")
        }
        let version = String(decoding: versionBytes, as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            let numbered = versionBytes.count == 8 && versionBytes.starts(with: "HTTP/".utf8)
                && isDigit(versionBytes[versionBytes.startIndex + 5]) && versionBytes[versionBytes.startIndex + 6] == UInt8(ascii: ".")
                && isDigit(versionBytes[versionBytes.startIndex + 7])
            if numbered { throw Rejection(status: 505, reason: "HTTP version \(version) is not supported (HTTP/1.0 and HTTP/1.1 are)") }
            throw Rejection(status: 400, reason: "malformed HTTP version")
        }
        guard target.count <= limits.targetBytes else {
            throw Rejection(status: 414, reason: "request target longer than \(limits.targetBytes) bytes")
        }
        try checkTarget(UnsafeRawBufferPointer(rebasing: target), limits: limits)
        return RequestLine(method: String(decoding: methodBytes, as: UTF8.self), version: version)
    }

    /// An origin-form target: `/path?query`, visible ASCII only, valid percent escapes, and no
    /// control character once the path is decoded (`/metrics%00` is not `/metrics`).
    private static func checkTarget(_ target: UnsafeRawBufferPointer, limits: Limits) throws(Rejection) {
        guard target.first == UInt8(ascii: "/") else {
            throw Rejection(status: 400, reason: "request target must be a path starting with /")
        }
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw Rejection(status: 400, reason: "request target contains a space, a control character or a non-ASCII byte")
        }
        let question = target.firstIndex(of: UInt8(ascii: "?"))
        let path = UnsafeRawBufferPointer(rebasing: target[..<(question ?? target.endIndex)])
        for byte in try percentDecoded(path) where byte < 0x20 || byte == 0x7f {
            throw Rejection(status: 400, reason: "request path contains a control character once decoded")
        }
        guard let question else { return }
        let query = UnsafeRawBufferPointer(rebasing: target[(question + 1)...])
        guard query.count <= limits.queryBytes else {
            throw Rejection(status: 414, reason: "query string longer than \(limits.queryBytes) bytes")
        }
        let parameters = query.split(separator: UInt8(ascii: "&"))
        guard parameters.count <= limits.queryParameters else {
            throw Rejection(status: 400, reason: "more than \(limits.queryParameters) query parameters")
        }
        for parameter in parameters {
            for byte in try percentDecoded(UnsafeRawBufferPointer(rebasing: parameter)) where byte == 0 {
                throw Rejection(status: 400, reason: "query parameter contains a NUL once decoded")
            }
        }
    }

    private static func percentDecoded(_ bytes: UnsafeRawBufferPointer) throws(Rejection) -> [UInt8] {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    throw Rejection(status: 400, reason: "malformed percent escape in the request target")
                }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return decoded
    }

    /// `name: value` with a token name directly before the colon (no `Host : x`, no
    /// obs-fold), and a value of visible characters, spaces and tabs.
    private static func field(_ line: UnsafeRawBufferPointer) throws(Rejection) -> (name: String, value: Substring) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
            throw Rejection(status: 400, reason: "malformed header line")
        }
        let name = line[line.startIndex..<colon]
        guard name.allSatisfy(isTokenByte) else {
            throw Rejection(status: 400, reason: "malformed header name (whitespace before the colon, or a line folded onto the previous one)")
        }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == tab || ($0 >= 0x20 && $0 != 0x7f) }) else {
            throw Rejection(status: 400, reason: "control character in a header value")
        }
        return (String(decoding: name, as: UTF8.self), Substring(trimmingWhitespace(Substring(decoding: value, as: UTF8.self))))
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
