#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The address family of a socket or an address.
public enum AddressFamily: UInt8, Sendable, Hashable, CaseIterable, Comparable {
    case ipv4 = 2   // AF_INET
    case ipv6 = 10  // AF_INET6

    /// The label value used in metrics and JSON: `ipv4` or `ipv6`.
    public var name: String {
        switch self {
        case .ipv4: "ipv4"
        case .ipv6: "ipv6"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An IPv4 or IPv6 address as a plain value.
///
/// Stored as two big-endian halves so that hashing and comparison are cheap and
/// no kernel struct leaks into public APIs. An IPv4 address `a.b.c.d` is kept in
/// `low` as the number `a<<24 | b<<16 | c<<8 | d` with `high == 0`.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let family: AddressFamily
    /// The first eight bytes (IPv6), as a big-endian number; 0 for IPv4.
    public let high: UInt64
    /// The last eight bytes (IPv6) or the four bytes (IPv4), as a big-endian number.
    public let low: UInt64

    /// An IPv4 address from its host-order number (127.0.0.1 is 0x7f00_0001).
    public init(ipv4 value: UInt32) {
        family = .ipv4
        high = 0
        low = UInt64(value)
    }

    /// An IPv6 address from its two big-endian halves.
    public init(ipv6High high: UInt64, low: UInt64) {
        family = .ipv6
        self.high = high
        self.low = low
    }

    /// An address from its network-order bytes: 4 bytes for IPv4, 16 for IPv6; nil otherwise.
    public init?<Bytes: Collection>(networkBytes bytes: Bytes) where Bytes.Element == UInt8 {
        switch bytes.count {
        case 4:
            var v: UInt32 = 0
            for b in bytes { v = v << 8 | UInt32(b) }
            self.init(ipv4: v)
        case 16:
            var h: UInt64 = 0
            var l: UInt64 = 0
            for (i, b) in bytes.enumerated() {
                if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
            }
            self.init(ipv6High: h, low: l)
        default:
            return nil
        }
    }

    /// Parses an IPv4 dotted quad or an IPv6 address (any valid RFC 4291 form); nil if invalid.
    /// Brackets and zone suffixes (`%eth0`) are not accepted here; see `SocketEndpoint`.
    public init?(_ text: String) {
        if text.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &a) { Array($0) }
            self.init(networkBytes: bytes)
        } else {
            var a = in_addr()
            guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &a) { Array($0) }
            self.init(networkBytes: bytes)
        }
    }

    public static let ipv4Any = IPAddress(ipv4: 0)
    public static let ipv6Any = IPAddress(ipv6High: 0, low: 0)
    public static let ipv4Loopback = IPAddress(ipv4: 0x7f00_0001)
    public static let ipv6Loopback = IPAddress(ipv6High: 0, low: 1)

    /// The IPv4 value in host order; nil for IPv6.
    public var ipv4Value: UInt32? { family == .ipv4 ? UInt32(truncatingIfNeeded: low) : nil }

    /// The network-order bytes: 4 for IPv4, 16 for IPv6.
    public var networkBytes: [UInt8] {
        switch family {
        case .ipv4:
            let v = UInt32(truncatingIfNeeded: low)
            return [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        case .ipv6:
            var out = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * i))
                out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * i))
            }
            return out
        }
    }

    /// True for 0.0.0.0 and ::.
    public var isUnspecified: Bool { high == 0 && low == 0 }

    /// True for fe80::/10.
    public var isIPv6LinkLocal: Bool { family == .ipv6 && (high >> 54) == 0x3fa }

    /// For ::ffff:a.b.c.d, the IPv4 address inside; nil otherwise.
    public var ipv4Mapped: IPAddress? {
        guard family == .ipv6, high == 0, low >> 32 == 0xffff else { return nil }
        return IPAddress(ipv4: UInt32(truncatingIfNeeded: low))
    }

    /// Canonical text: IPv4 dotted decimal, IPv6 as RFC 5952 recommends (lowercase,
    /// leading zeros dropped, the longest run of two or more zero groups as `::`, the
    /// first such run on a tie, IPv4-mapped addresses in mixed notation).
    public var description: String {
        switch family {
        case .ipv4:
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        case .ipv6:
            if let v4 = ipv4Mapped { return "::ffff:" + v4.description }
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<4 {
                groups[i] = UInt16(truncatingIfNeeded: high >> (48 - 16 * i))
                groups[4 + i] = UInt16(truncatingIfNeeded: low >> (48 - 16 * i))
            }
            // Longest run of zero groups (length >= 2), first on a tie.
            var bestStart = -1, bestLength = 0, runStart = -1
            for i in 0...8 {
                if i < 8 && groups[i] == 0 {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    let length = i - runStart
                    if length > bestLength { bestStart = runStart; bestLength = length }
                    runStart = -1
                }
            }
            if bestLength < 2 { bestStart = -1 }
            var text = ""
            text.reserveCapacity(39)
            var i = 0
            while i < 8 {
                if i == bestStart {
                    text += "::"
                    i += bestLength
                    continue
                }
                if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
                text += String(groups[i], radix: 16)
                i += 1
            }
            return text
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.family, lhs.high, lhs.low) < (rhs.family, rhs.high, rhs.low)
    }
}

/// An IP address and a port.
public struct SocketEndpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `1.2.3.4:80` or `[::1]:80`.
    public var description: String {
        address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// Parses `1.2.3.4:80`, `[::1]:80`; with `portOptional`, also `1.2.3.4`, `::1` and `[::1]` (port 0).
    public init?(_ text: String, portOptional: Bool = false) {
        guard let parts = try? HostAndPort(splitting: text), let address = IPAddress(String(parts.host)) else { return nil }
        guard let portText = parts.port else {
            guard portOptional else { return nil }
            self.init(address: address, port: 0)
            return
        }
        guard let port = HostAndPort.portNumber(portText) else { return nil }
        self.init(address: address, port: port)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.address, lhs.port) < (rhs.address, rhs.port)
    }
}
