import SocketModel
import SystemPackage

/// A userspace `connectx()`: outgoing TCP and UDP connections that share a local
/// (address, port) across destinations, so the ephemeral range limits connections per
/// destination rather than per host, and two connected UDP sockets never share a 4-tuple.
///
/// ```swift
/// let socket = try ConnectX.connect(
///     to: ConnectX.Endpoint(address: IPAddress("192.0.2.53")!, port: 53),
///     protocol: .udp)
/// print(socket.local)   // 192.0.2.10:41873
/// ```
public enum ConnectX {
    /// How a connection got its local port.
    public enum Technique: String, Sendable, Hashable, CaseIterable {
        /// A plain `connect()`: the kernel picks a port free toward this destination (TCP) or
        /// free on the host (UDP).
        case connect
        /// TCP with a source address: `IP_BIND_ADDRESS_NO_PORT`, `bind(ip, 0)`, `connect()`;
        /// the port is chosen at `connect()`, free toward this destination.
        case bindAddressNoPort = "bind-address-no-port"
        /// TCP with a source port: `SO_REUSEADDR`, `bind(ip, port)`, `connect()`; a taken
        /// 4-tuple fails with `EADDRNOTAVAIL`.
        case reuseAddressBind = "reuseaddr-bind"
        /// UDP: the port chosen in userspace and claimed under the `SO_REUSEADDR` lock: bound
        /// while nobody else held it, or shared after the 4-tuple was checked with SOCK_DIAG.
        case reuseAddressLock = "reuseaddr-lock"
        /// The `plain` method with a source: `bind(source)`, then `connect()`.
        case bindThenConnect = "bind-connect"
    }

    /// Opens a connected socket toward `destination`.
    ///
    /// - Parameters:
    ///   - destination: the peer; its port must not be 0. A link-local IPv6 address needs a
    ///     scope id (here or on the source).
    ///   - source: the local end; nil, or an unspecified address, lets the kernel's routing
    ///     choose the address; port 0 lets ConnectX choose the port.
    ///   - proto: `.tcp` or `.udp`.
    ///   - options: method, TCP timeout, per-socket port range, SOCK_DIAG client.
    /// - Returns: the connected socket, blocking mode, close-on-exec; it owns the descriptor.
    /// - Throws: `ConnectXError`: the step that failed and its errno.
    ///
    /// Synchronous: the calling thread blocks for at most `options.timeout` in a TCP
    /// handshake. Sockets are created in the calling thread's network namespace.
    public static func connect(
        to destination: Endpoint, from source: Endpoint? = nil,
        protocol proto: TransportProtocol, options: ConnectOptions = ConnectOptions()
    ) throws(ConnectXError) -> ConnectedSocket {
        let request = try ConnectRequest(destination: destination, source: source, proto: proto, options: options)
        switch (proto, options.method) {
        case (.tcp, _): return try TCPConnector.connect(request)
        case (.udp, .plain): return try UDPConnector.connectPlain(request)
        case (.udp, .connectx): return try UDPConnector.connect(request)
        }
    }
}

/// A validated request: families agree, scopes filled in, ports sensible.
struct ConnectRequest {
    var destination: ConnectX.Endpoint
    /// The caller's source; address unspecified when not given, port 0 when not given.
    var source: ConnectX.Endpoint
    var proto: TransportProtocol
    var options: ConnectOptions
    /// True when the caller gave a source address or port (the `plain` method binds then).
    var sourceGiven: Bool

    var family: AddressFamily { destination.address.family }

    init(destination: ConnectX.Endpoint, source: ConnectX.Endpoint?, proto: TransportProtocol,
         options: ConnectOptions) throws(ConnectXError) {
        func invalid(_ why: String) -> ConnectXError {
            ConnectXError(step: .arguments, errno: .invalidArgument, detail: why)
        }
        var destination = destination
        let family = destination.address.family
        var source = source ?? ConnectX.Endpoint(address: family == .ipv4 ? .ipv4Any : .ipv6Any, port: 0)
        guard destination.port != 0 else { throw invalid("destination port 0") }
        guard !destination.address.isUnspecified else { throw invalid("destination address \(destination.address) is unspecified") }
        guard source.address.family == family else {
            throw ConnectXError(step: .arguments, errno: .addressFamilyNotSupported,
                                detail: "source \(source.address) and destination \(destination.address) differ in family")
        }
        if family == .ipv4 && (destination.scopeID != 0 || source.scopeID != 0) {
            throw invalid("a scope id applies to IPv6 only")
        }
        // One link, one scope: a link-local end without a scope takes the other end's.
        if destination.address.isIPv6LinkLocal && destination.scopeID == 0 {
            guard source.scopeID != 0 else { throw invalid("link-local destination \(destination.address) needs a scope id") }
            destination.scopeID = source.scopeID
        }
        if source.address.isIPv6LinkLocal && source.scopeID == 0 {
            guard destination.scopeID != 0 else { throw invalid("link-local source \(source.address) needs a scope id") }
            source.scopeID = destination.scopeID
        }
        if let range = options.portRange, range.lowerBound == 0 {
            throw invalid("per-socket port range starts at 0")
        }
        self.destination = destination
        self.source = source
        self.proto = proto
        self.options = options
        self.sourceGiven = !(source.address.isUnspecified && source.port == 0)
    }

    /// The deadline for a TCP handshake started now.
    func deadline() -> ContinuousClock.Instant? {
        options.timeout.map { ContinuousClock.now + $0 }
    }
}

/// Runs one system-call wrapper, naming the step if it fails.
@inline(__always)
func at<Result>(_ step: ConnectXError.Step, _ detail: @autoclosure () -> String = "",
                _ body: () throws(Errno) -> Result) throws(ConnectXError) -> Result {
    do {
        return try body()
    } catch {
        throw ConnectXError(step: step, errno: error, detail: detail())
    }
}
