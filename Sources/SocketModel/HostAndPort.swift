/// The one endpoint grammar, split but not interpreted: `HOST:PORT`, `[HOST]:PORT`, `[HOST]`,
/// `:PORT`, and a bare `HOST` (no colon, or several: an IPv6 address without brackets). A host
/// may end in `%ZONE`.
///
/// Each kind of endpoint interprets the parts its own way, as its grammar legitimately
/// differs: `SocketEndpoint` (addresses), `ConnectX.Endpoint` (zones as interfaces),
/// `ProbeTarget` (DNS names, a port required) and `HTTPServer.ListenAddress` (`:PORT` for
/// every interface).
public struct HostAndPort: Sendable, Hashable {
    /// The host without brackets, `%ZONE` included; empty in `:PORT`.
    public var host: Substring
    /// The text after the host's colon, nil when there is none.
    public var port: Substring?
    /// The host was written in brackets.
    public var bracketed: Bool

    public enum SyntaxError: Error, Sendable, Hashable {
        /// `[` without `]`.
        case missingCloseBracket
        /// Something other than `:PORT` after `]`.
        case textAfterCloseBracket
    }

    public init(splitting text: String) throws(SyntaxError) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .missingCloseBracket }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.first == ":" else { throw .textAfterCloseBracket }
            port = rest.isEmpty ? nil : rest.dropFirst()
            bracketed = true
        } else if text.count(where: { $0 == ":" }) == 1, let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            bracketed = false
        } else {
            host = text[...]
            port = nil
            bracketed = false
        }
    }

    /// The host without its zone.
    public var address: Substring { host.firstIndex(of: "%").map { host[..<$0] } ?? host }

    /// The zone after `%` (possibly empty), nil when there is none.
    public var zone: Substring? { host.firstIndex(of: "%").map { host[host.index(after: $0)...] } }

    /// A port in decimal digits only (no sign, no spaces), 0 to 65535; nil otherwise.
    public static func portNumber(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return UInt16(text)
    }
}
