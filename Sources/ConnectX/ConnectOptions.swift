import SockDiag

/// How `ConnectX.connect` makes a connection.
public struct ConnectOptions: Sendable {
    /// The way the local port is obtained.
    public enum Method: String, Sendable, Hashable, CaseIterable {
        /// ConnectX: share local ports across destinations safely (see `ConnectX.Technique`).
        case connectx
        /// What most applications do: `bind()` the source if one is given, then `connect()`.
        /// Useful to show the difference, and for probes that check what applications see.
        case plain
    }

    public var method: Method
    /// How long a TCP handshake may take; nil waits as long as the kernel does (minutes).
    /// UDP `connect()` sends nothing and does not wait.
    public var timeout: Duration?
    /// A per-socket port range, like `IP_LOCAL_PORT_RANGE`: each bound is used only when it
    /// lies inside the namespace's range, and reserved ports stay excluded.
    public var portRange: ClosedRange<UInt16>?
    /// The SOCK_DIAG client for UDP's checks. It must have been created in the network
    /// namespace the connection is made in (a netlink socket stays in its namespace). nil:
    /// a new client for each call, which is always right and costs four more system calls.
    public var sockDiag: SockDiagClient?

    public init(
        method: Method = .connectx, timeout: Duration? = .seconds(5),
        portRange: ClosedRange<UInt16>? = nil, sockDiag: SockDiagClient? = nil
    ) {
        self.method = method
        self.timeout = timeout
        self.portRange = portRange
        self.sockDiag = sockDiag
    }
}
