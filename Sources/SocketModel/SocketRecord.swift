/// The transport protocol of a socket.
public enum TransportProtocol: UInt8, Sendable, Hashable, CaseIterable, Comparable {
    case tcp = 6    // IPPROTO_TCP
    case udp = 17   // IPPROTO_UDP

    /// The label value used in metrics and JSON: `tcp` or `udp`.
    public var name: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A socket's state as the kernel reports it in `inet_diag_msg.idiag_state`.
///
/// The numbering is the kernel's TCP state machine (`include/net/tcp_states.h`); UDP
/// sockets use two of its values: `TCP_ESTABLISHED` when connected, `TCP_CLOSE` otherwise.
public struct SocketState: RawRepresentable, Sendable, Hashable, Comparable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let established = SocketState(rawValue: 1)
    public static let synSent = SocketState(rawValue: 2)
    public static let synRecv = SocketState(rawValue: 3)
    public static let finWait1 = SocketState(rawValue: 4)
    public static let finWait2 = SocketState(rawValue: 5)
    public static let timeWait = SocketState(rawValue: 6)
    public static let close = SocketState(rawValue: 7)
    public static let closeWait = SocketState(rawValue: 8)
    public static let lastAck = SocketState(rawValue: 9)
    public static let listen = SocketState(rawValue: 10)
    public static let closing = SocketState(rawValue: 11)
    /// A request socket (`TCP_NEW_SYN_RECV`); reported as `syn_recv`.
    public static let newSynRecv = SocketState(rawValue: 12)
    /// Bound but neither listening nor connected (`TCP_BOUND_INACTIVE`, Linux 6.8+).
    public static let boundInactive = SocketState(rawValue: 13)

    /// Every TCP state name used in metrics and JSON, in kernel order.
    public static let tcpStateNames = [
        "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait",
        "close", "close_wait", "last_ack", "listen", "closing", "bound_inactive",
    ]
    /// Every UDP state name used in metrics and JSON.
    public static let udpStateNames = ["established", "unconnected"]

    /// The state's name for a protocol, as used in metrics and JSON.
    public func name(for proto: TransportProtocol) -> String {
        if proto == .udp {
            return self == .established ? "established" : "unconnected"
        }
        switch rawValue {
        case 1...11: return Self.tcpStateNames[Int(rawValue) - 1]
        case 12: return "syn_recv"
        case 13: return "bound_inactive"
        default: return "unknown"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One socket as SOCK_DIAG reports it: a plain value, no kernel struct.
public struct SocketRecord: Sendable, Hashable {
    public var proto: TransportProtocol
    public var family: AddressFamily
    public var state: SocketState
    public var local: SocketEndpoint
    /// The peer; the unspecified address and port 0 when not connected.
    public var remote: SocketEndpoint
    /// The bound interface (`SO_BINDTODEVICE` or an IPv6 scope), 0 for none.
    public var interfaceIndex: UInt32
    public var uid: UInt32
    /// The socket inode (0 for TIME_WAIT and request sockets, which have no file).
    public var inode: UInt32
    /// The kernel's socket cookie (`SO_COOKIE`), unique per network namespace while the socket lives.
    public var cookie: UInt64
    /// The cgroup v2 id (`INET_DIAG_CGROUP_ID`), nil when the kernel did not send it.
    public var cgroupID: UInt64?

    public init(
        proto: TransportProtocol, family: AddressFamily, state: SocketState,
        local: SocketEndpoint, remote: SocketEndpoint, interfaceIndex: UInt32 = 0,
        uid: UInt32 = 0, inode: UInt32 = 0, cookie: UInt64 = 0, cgroupID: UInt64? = nil
    ) {
        self.proto = proto
        self.family = family
        self.state = state
        self.local = local
        self.remote = remote
        self.interfaceIndex = interfaceIndex
        self.uid = uid
        self.inode = inode
        self.cookie = cookie
        self.cgroupID = cgroupID
    }

    /// The state's name for this socket's protocol.
    public var stateName: String { state.name(for: proto) }

    /// True when the socket has a peer: a connected UDP socket, or a TCP socket in any
    /// state but listen, close and bound-inactive.
    public var hasPeer: Bool {
        switch proto {
        case .udp: return state == .established
        case .tcp: return !(state == .listen || state == .close || state == .boundInactive)
        }
    }
}

/// A connection's 4-tuple: local and remote endpoints.
public struct FourTuple: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var local: SocketEndpoint
    public var remote: SocketEndpoint

    public init(local: SocketEndpoint, remote: SocketEndpoint) {
        self.local = local
        self.remote = remote
    }

    public var description: String { "\(local) -> \(remote)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.local, lhs.remote) < (rhs.local, rhs.remote)
    }
}
