/// A set of ports (0–65535) as a bitmap: O(1) membership, 8 KiB.
public struct PortSet: Sendable, Hashable {
    @usableFromInline var words: [UInt64]

    public init() { words = [UInt64](repeating: 0, count: 1024) }

    public init<S: Sequence>(_ ports: S) where S.Element == UInt16 {
        self.init()
        for p in ports { insert(p) }
    }

    @inlinable public func contains(_ port: UInt16) -> Bool {
        words[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0
    }

    public mutating func insert(_ port: UInt16) {
        words[Int(port >> 6)] |= 1 << UInt64(port & 63)
    }

    public mutating func insert(_ range: ClosedRange<UInt16>) {
        for p in range { insert(p) }
    }

    /// The number of ports in the set.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The number of ports of the set that lie in `range`.
    public func count(in range: ClosedRange<UInt16>) -> Int {
        // Whole words at a time: a range is read fresh on every connect, so this is hot.
        let low = Int(range.lowerBound), high = Int(range.upperBound)
        var n = 0
        for index in (low >> 6)...(high >> 6) {
            var word = words[index]
            if index == low >> 6 { word &= ~UInt64(0) << UInt64(low & 63) }
            if index == high >> 6, high & 63 < 63 { word &= (UInt64(1) << UInt64(high & 63 + 1)) - 1 }
            n += word.nonzeroBitCount
        }
        return n
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// The ports in ascending order.
    public var sorted: [UInt16] {
        var out: [UInt16] = []
        for (i, w) in words.enumerated() where w != 0 {
            for bit in 0..<64 where w & (1 << UInt64(bit)) != 0 { out.append(UInt16(i * 64 + bit)) }
        }
        return out
    }
}

/// Why the ephemeral range could not be read or parsed.
public enum EphemeralRangeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file could not be read (path, errno name and message).
    case unreadable(path: String, reason: String)
    /// `ip_local_port_range` is not two ports `low high` with `1 <= low <= high <= 65535`.
    case malformedRange(String)
    /// `ip_local_reserved_ports` has a token that is not a port or an ascending `a-b` range.
    case malformedReserved(token: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read \(path): \(reason)"
        case let .malformedRange(text): "malformed ip_local_port_range \(text.debugDescription): want two ports \"low high\""
        case let .malformedReserved(token): "malformed ip_local_reserved_ports entry \(token.debugDescription): want a port or a range a-b"
        }
    }
}

/// The ephemeral port range of a network namespace: `net.ipv4.ip_local_port_range` minus
/// `net.ipv4.ip_local_reserved_ports` (both apply to IPv4 and IPv6).
public struct EphemeralRange: Sendable, Hashable {
    public let low: UInt16
    public let high: UInt16
    /// Every reserved port, inside the range or not.
    public let reservedPorts: PortSet
    /// Reserved ports inside the range.
    public let reservedInRange: Int

    public init(low: UInt16, high: UInt16, reservedPorts: PortSet = PortSet()) {
        precondition(low <= high, "EphemeralRange: low > high")
        self.low = low
        self.high = high
        self.reservedPorts = reservedPorts
        self.reservedInRange = reservedPorts.count(in: low...high)
    }

    /// Ports `connect()` and `bind(ip, 0)` can pick from: high − low + 1 − reserved in range.
    public var limit: Int { Int(high) - Int(low) + 1 - reservedInRange }

    /// True when `port` is in the range and not reserved: a port the kernel hands out.
    @inlinable public func isEphemeral(_ port: UInt16) -> Bool {
        port >= low && port <= high && !reservedPorts.contains(port)
    }

    /// Parses the text of `ip_local_port_range` ("32768\t60999\n") and of
    /// `ip_local_reserved_ports` ("", or "1000-1005,2000\n").
    public static func parse(portRange: String, reservedPorts: String) throws(EphemeralRangeError) -> EphemeralRange {
        let fields = portRange.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count == 2, let low = UInt16(fields[0]), let high = UInt16(fields[1]),
              low >= 1, low <= high else {
            throw .malformedRange(portRange)
        }
        let reserved = try parseReservedPorts(reservedPorts)
        return EphemeralRange(low: low, high: high, reservedPorts: reserved)
    }

    /// Parses a reserved-ports list: comma-separated ports and `a-b` ranges, whitespace around
    /// entries ignored, empty allowed.
    public static func parseReservedPorts(_ text: String) throws(EphemeralRangeError) -> PortSet {
        var set = PortSet()
        for rawToken in text.split(separator: ",", omittingEmptySubsequences: false) {
            let token = rawToken.trimmingWhitespace()
            if token.isEmpty {
                // An empty file is an empty list; an empty entry between commas is malformed.
                if text.trimmingWhitespace().isEmpty { continue }
                throw .malformedReserved(token: String(rawToken))
            }
            let bounds = token.split(separator: "-", omittingEmptySubsequences: false)
            switch bounds.count {
            case 1:
                guard let p = UInt16(bounds[0]) else { throw .malformedReserved(token: String(token)) }
                set.insert(p)
            case 2:
                guard let a = UInt16(bounds[0]), let b = UInt16(bounds[1]), a <= b else {
                    throw .malformedReserved(token: String(token))
                }
                set.insert(a...b)
            default:
                throw .malformedReserved(token: String(token))
            }
        }
        return set
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let s = self[...]
        guard let first = s.firstIndex(where: { !$0.isWhitespace }),
              let last = s.lastIndex(where: { !$0.isWhitespace }) else { return Substring() }
        return Substring(s[first...last])
    }
}
