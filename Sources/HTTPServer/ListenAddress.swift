/// A listen address in the Prometheus exporters' form: `:10123` (every interface),
/// `0.0.0.0:9100`, `127.0.0.1:0`, `[::1]:9100`, `[fe80::1%eth0]:9100`, `localhost:9100`.
/// Port 0 asks the kernel for a free port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host as written (no brackets), or nil for every interface (IPv6 and IPv4).
    public let host: String?
    public let port: UInt16

    public init(host: String?, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[host]:port` or `:port`.
    public init(parsing text: String) throws(HTTPServerError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw .invalidAddress(text, reason: "missing ']' after the IPv6 address")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .invalidAddress(text, reason: "missing port after ']'") }
            portText = rest.dropFirst()
            guard !host.isEmpty else { throw .invalidAddress(text, reason: "empty host in brackets") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .invalidAddress(text, reason: "missing port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw .invalidAddress(text, reason: "too many colons (write an IPv6 address in brackets: [::1]:9100)")
            }
        }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let port = UInt16(portText) else {
            throw .invalidAddress(text, reason: "port \(String(portText).debugDescription) is not a number from 0 to 65535")
        }
        self.init(host: host.isEmpty ? nil : String(host), port: port)
    }

    /// `host:port`, with brackets around an IPv6 host; `:port` for every interface.
    public var description: String {
        guard let host else { return ":\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
