import SocketModel

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
        let parts: HostAndPort
        do {
            parts = try HostAndPort(splitting: text)
        } catch {
            switch error {
            case .missingCloseBracket: throw .invalidAddress(text, reason: "missing ']' after the IPv6 address")
            case .textAfterCloseBracket: throw .invalidAddress(text, reason: "missing port after ']'")
            }
        }
        guard let portText = parts.port else {
            if parts.bracketed { throw .invalidAddress(text, reason: "missing port after ']'") }
            if parts.host.contains(":") {
                throw .invalidAddress(text, reason: "too many colons (write an IPv6 address in brackets: [::1]:9100)")
            }
            throw .invalidAddress(text, reason: "missing port")
        }
        if parts.bracketed && parts.host.isEmpty { throw .invalidAddress(text, reason: "empty host in brackets") }
        guard let port = HostAndPort.portNumber(portText) else {
            throw .invalidAddress(text, reason: "port \(String(portText).debugDescription) is not a number from 0 to 65535")
        }
        self.init(host: parts.host.isEmpty ? nil : String(parts.host), port: port)
    }

    /// `host:port`, with brackets around an IPv6 host; `:port` for every interface.
    public var description: String {
        guard let host else { return ":\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
