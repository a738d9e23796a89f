/// One request header as the client sent it.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One `name=value` pair of a query string, percent- and `+`-decoded. A key without `=`
/// has the empty value. Repeated keys (`collect[]=a&collect[]=b`) stay separate items, in order.
public struct QueryItem: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A request as the handler sees it. The request body, if any, is not read.
public struct HTTPRequest: Sendable {
    /// As sent, e.g. `GET`, `HEAD`.
    public var method: String
    /// The percent-decoded path, without the query string.
    public var path: String
    public var queryItems: [QueryItem]
    public var headers: [HTTPHeader]
    /// e.g. `HTTP/1.1`.
    public var version: String

    public init(method: String, path: String, queryItems: [QueryItem] = [], headers: [HTTPHeader] = [], version: String = "HTTP/1.1") {
        self.method = method
        self.path = path
        self.queryItems = queryItems
        self.headers = headers
        self.version = version
    }

    /// The value of the first header named `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value given for the query key `name`, in order.
    public func queryValues(_ name: String) -> [String] {
        queryItems.filter { $0.name == name }.map(\.value)
    }
}

/// What the handler answers. `Content-Length` is set by the server (a handler's own is
/// ignored); for `HEAD` the body is measured but not sent.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    /// Whether the server may gzip the body when the client's `Accept-Encoding` allows it.
    public var compressible: Bool

    public init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = [], compressible: Bool = true) {
        self.status = status
        self.headers = headers
        self.body = body
        self.compressible = compressible
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ status: Int, _ text: String, headers: [HTTPHeader] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [HTTPHeader(name: "Content-Type", value: "text/plain; charset=utf-8")] + headers,
                     body: Array(text.utf8))
    }
}

/// Answers one request. Called on one of the server's connection threads, possibly on
/// several at once; it may block (at most `maxConcurrentRequests` run at a time).
public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse

/// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace).
func trimmingWhitespace(_ text: Substring) -> String {
    String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
}
