import SocketModel

/// A set of socket states as the kernel's `idiag_states` bitmask: bit `n` is state `n`.
public struct SocketStateMask: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The mask holding exactly `states`.
    public init<S: Sequence>(_ states: S) where S.Element == SocketState {
        var raw: UInt32 = 0
        for state in states where state.rawValue < 32 { raw |= 1 << UInt32(state.rawValue) }
        self.init(rawValue: raw)
    }

    /// Every state the kernel reports: TCP_ESTABLISHED (1) through TCP_BOUND_INACTIVE (13).
    /// TIME_WAIT, NEW_SYN_RECV and BOUND_INACTIVE sockets are only dumped when their bits are
    /// set; a kernel older than 6.8 ignores bit 13. Bound-only TCP sockets come back with
    /// state CLOSE, which the decoder reports as `.boundInactive`. UDP uses ESTABLISHED and CLOSE.
    public static let all = SocketStateMask(rawValue: 0x3ffe)

    /// True when `state` is in the mask.
    public func includes(_ state: SocketState) -> Bool {
        state.rawValue < 32 && rawValue & (1 << UInt32(state.rawValue)) != 0
    }
}

/// A filter the kernel runs on every socket of a dump (`INET_DIAG_REQ_BYTECODE`), like the
/// expressions of `ss`. Addresses match exactly (a host prefix); an IPv4 address also matches
/// the IPv4-mapped form (`::ffff:a.b.c.d`) in an IPv6 dump.
public indirect enum SocketFilter: Sendable, Hashable {
    case localAddress(IPAddress)
    case remoteAddress(IPAddress)
    case localPort(UInt16)
    case remotePort(UInt16)
    /// Every filter matches (AND); `.all([])` matches every socket.
    case all([SocketFilter])
    /// Some filter matches (OR); `.any([])` matches no socket.
    case any([SocketFilter])
}

/// What one dump asks the kernel for: a protocol and a family (one table), the states, and an
/// optional in-kernel filter.
///
/// A TCP query may leave the family out (nil): then one request (`TCPDIAG_GETSOCK` with
/// AF_UNSPEC) walks the kernel's TCP tables once for IPv4 and IPv6 together, instead of once
/// per family, which saves a fifth of a large host's dump (the bound-socket walk that
/// bound-inactive sockets need is done once). UDP has no such request: a UDP query names its family.
public struct DumpQuery: Sendable, Hashable, CustomStringConvertible {
    public var proto: TransportProtocol
    /// nil: both families, TCP only.
    public var family: AddressFamily?
    public var states: SocketStateMask
    public var filter: SocketFilter?

    public init(proto: TransportProtocol, family: AddressFamily?, states: SocketStateMask = .all, filter: SocketFilter? = nil) {
        self.proto = proto
        self.family = family
        self.states = states
        self.filter = filter
    }

    /// The four tables: TCP and UDP, IPv4 and IPv6, every state, no filter; one query each.
    public static let everySocket: [DumpQuery] = [
        DumpQuery(proto: .tcp, family: .ipv4), DumpQuery(proto: .tcp, family: .ipv6),
        DumpQuery(proto: .udp, family: .ipv4), DumpQuery(proto: .udp, family: .ipv6),
    ]

    /// The same sockets in three queries: TCP of both families in one walk, then UDP per
    /// family. Cheaper than `everySocket` on a large host; a kernel that refuses the
    /// both-families request answers `.kernel(EINVAL)` (or similar), and `everySocket` remains.
    public static let everySocketCombined: [DumpQuery] = [
        DumpQuery(proto: .tcp, family: nil),
        DumpQuery(proto: .udp, family: .ipv4), DumpQuery(proto: .udp, family: .ipv6),
    ]

    /// `tcp/ipv4`, `tcp/any` and so on, for error messages.
    public var description: String { "\(proto.name)/\(family?.name ?? "any")" }
}

/// What one dump cost.
public struct DumpStatistics: Sendable, Hashable {
    /// Sockets handed to the visitor by the last (complete) attempt.
    public var records: Int
    /// Netlink messages received, over every attempt.
    public var messages: Int
    /// Bytes received, over every attempt.
    public var bytes: Int
    /// Attempts redone after `NLM_F_DUMP_INTR`.
    public var retries: Int

    public init(records: Int = 0, messages: Int = 0, bytes: Int = 0, retries: Int = 0) {
        self.records = records
        self.messages = messages
        self.bytes = bytes
        self.retries = retries
    }
}
