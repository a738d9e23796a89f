import SocketModel

/// Where a probe connects: a host (a name, resolved at each run, or an address literal) and a
/// port, written `host:port`, `192.0.2.1:53`, `[2001:db8::1]:53` or `[fe80::1%eth0]:53`.
public struct ProbeTarget: Sendable, Hashable, CustomStringConvertible {
    /// A DNS name or an address literal, without brackets; an IPv6 literal may carry `%zone`.
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; nil when the port is missing, 0 or too large, an IPv6 literal is
    /// not in brackets, or the host is neither an address nor a DNS name.
    public init?(parsing text: String) {
        guard let parts = try? HostAndPort(splitting: text), let portText = parts.port,
              let port = HostAndPort.portNumber(portText), port != 0 else { return nil }
        if parts.bracketed {
            guard let literal = IPAddress(String(parts.address)), literal.family == .ipv6, parts.zone?.isEmpty != true else { return nil }
        } else {
            guard IPAddress(String(parts.host)) != nil || Self.isHostName(parts.host) else { return nil }
        }
        self.init(host: String(parts.host), port: port)
    }

    /// The address when `host` is a literal (the zone, if any, is not part of it).
    public var literalAddress: IPAddress? {
        IPAddress(String(host.split(separator: "%", maxSplits: 1)[0]))
    }

    /// `host:port`, with brackets around an IPv6 literal.
    public var description: String {
        literalAddress?.family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// A DNS name (RFC 1123 labels; `_` allowed as in service names): letters, digits, `-`,
    /// `_`, dot-separated, each label 1–63 bytes, 253 in all, not all digits and dots.
    static func isHostName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        var sawLetter = false
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            for byte in label.utf8 {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                    sawLetter = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    break
                default:
                    return false
                }
            }
        }
        return sawLetter
    }
}
