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
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].first == ":" else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            let address = host.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
            guard let literal = IPAddress(String(address[0])), literal.family == .ipv6 else { return nil }
            if address.count == 2 && address[1].isEmpty { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
            guard IPAddress(String(host)) != nil || Self.isHostName(host) else { return nil }
        }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let port = UInt16(portText), port != 0 else { return nil }
        self.init(host: String(host), port: port)
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
