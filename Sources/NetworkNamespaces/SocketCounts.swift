/// One namespace's socket counts from `/proc/net/sockstat` and `sockstat6`: the kernel keeps
/// them per namespace, so reading them costs the same with 10 or 240,000 sockets on the host.
public struct SocketCounts: Sendable, Equatable {
    /// IPv4 TCP sockets in the hash tables (listening, connecting, connected, closing), not
    /// TIME_WAIT.
    public var tcp4InUse: Int
    /// IPv6 TCP sockets, likewise (IPv4-mapped ones included).
    public var tcp6InUse: Int
    /// TIME_WAIT sockets of both families (`tw`).
    public var tcpTimeWait: Int
    public var udp4InUse: Int
    public var udp6InUse: Int

    public init(tcp4InUse: Int, tcp6InUse: Int, tcpTimeWait: Int, udp4InUse: Int, udp6InUse: Int) {
        self.tcp4InUse = tcp4InUse
        self.tcp6InUse = tcp6InUse
        self.tcpTimeWait = tcpTimeWait
        self.udp4InUse = udp4InUse
        self.udp6InUse = udp6InUse
    }

    /// Every TCP socket that can hold a local port, TIME_WAIT included.
    public var tcp: Int { tcp4InUse + tcp6InUse + tcpTimeWait }
    /// Every UDP socket (UDP-Lite apart).
    public var udp: Int { udp4InUse + udp6InUse }

    /// Parses both files' text. `sockstat` has `TCP: inuse N orphan N tw N alloc N mem N` and
    /// `UDP: inuse N mem N`; `sockstat6` has `TCP6: inuse N` and `UDP6: inuse N`. (`orphan`,
    /// `alloc` and `mem` are host-wide; `inuse` and `tw` are the namespace's.) Unknown lines
    /// and fields are ignored; a missing count is an error.
    public static func parse(sockstat: String, sockstat6: String) throws(SocketCountsError) -> SocketCounts {
        let v4 = fields(sockstat), v6 = fields(sockstat6)
        func count(_ table: [String: [String: Int]], _ line: String, _ field: String) throws(SocketCountsError) -> Int {
            guard let value = table[line]?[field] else { throw .missing(line: line, field: field) }
            return value
        }
        return SocketCounts(
            tcp4InUse: try count(v4, "TCP", "inuse"),
            tcp6InUse: try count(v6, "TCP6", "inuse"),
            tcpTimeWait: try count(v4, "TCP", "tw"),
            udp4InUse: try count(v4, "UDP", "inuse"),
            udp6InUse: try count(v6, "UDP6", "inuse"))
    }

    /// `NAME: key value key value...` lines as name → key → value.
    private static func fields(_ text: String) -> [String: [String: Int]] {
        var table: [String: [String: Int]] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let words = line[line.index(after: colon)...].split(separator: " ")
            var values: [String: Int] = [:]
            var index = 0
            while index + 1 < words.count {
                // The kernel's counters are ints; anything larger is not a count (and could
                // overflow the sums).
                if let value = Int(words[index + 1]), (0...Int(UInt32.max)).contains(value) { values[String(words[index])] = value }
                index += 2
            }
            table[String(line[..<colon])] = values
        }
        return table
    }
}

public enum SocketCountsError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(line: String, field: String)

    public var description: String {
        switch self {
        case let .missing(line, field): "sockstat has no \(line) \(field) count"
        }
    }
}
