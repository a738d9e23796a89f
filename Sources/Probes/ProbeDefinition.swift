import ConnectX
import SocketModel

/// One probe: what to connect to, from where, how, how often, and what to check.
public struct ProbeDefinition: Sendable, Hashable {
    public static let defaultInterval = Duration.seconds(15)
    public static let defaultTimeout = Duration.seconds(2)

    /// Unique in a configuration; the `probe` label.
    public var name: String
    public var proto: TransportProtocol
    /// Resolved at every run (names are looked up each time, as applications do).
    public var target: ProbeTarget
    /// The source address, optionally with a port; nil lets routing choose.
    public var source: ConnectX.Endpoint?
    /// `connectx` (the default) or `plain` (`bind()` + `connect()`, as most applications do).
    public var method: ConnectOptions.Method
    /// Time between the starts of two runs.
    public var interval: Duration
    /// The longest a run takes, resolution, handshake and reply included.
    public var timeout: Duration
    /// Bytes sent once connected.
    public var send: [UInt8]?
    /// Bytes the reply must start with: the first datagram (UDP), the first bytes of the
    /// stream (TCP). Empty: any reply (a datagram, or at least one byte).
    public var expect: [UInt8]?

    public init(name: String, proto: TransportProtocol, target: ProbeTarget, source: ConnectX.Endpoint? = nil,
                method: ConnectOptions.Method = .connectx, interval: Duration = defaultInterval,
                timeout: Duration = defaultTimeout, send: [UInt8]? = nil, expect: [UInt8]? = nil) {
        self.name = name
        self.proto = proto
        self.target = target
        self.source = source
        self.method = method
        self.interval = interval
        self.timeout = timeout
        self.send = send
        self.expect = expect
    }

    /// The `source` label: `10.0.0.1`, `10.0.0.1:5000`, `[fe80::1%2]:0`… or empty when none.
    public var sourceLabel: String {
        guard let source else { return "" }
        if source.port != 0 { return source.description }
        return source.scopeID == 0 ? "\(source.address)" : "\(source.address)%\(source.scopeID)"
    }

    /// Checks what a single field cannot: positive durations, the timeout within the
    /// interval, families that can meet.
    public func validate() throws(ProbeConfigError) {
        func fail(_ field: String, _ message: String) -> ProbeConfigError {
            ProbeConfigError(probe: name, field: field, message: message)
        }
        guard !name.isEmpty else { throw fail("name", "must not be empty") }
        guard interval > .zero else { throw fail("interval", "must be more than 0") }
        guard timeout > .zero else { throw fail("timeout", "must be more than 0") }
        guard timeout <= interval else {
            throw fail("timeout", "\(ProbeDuration.format(timeout)) is longer than the interval \(ProbeDuration.format(interval))")
        }
        if let source, let target = target.literalAddress, source.address.family != target.family {
            throw fail("source", "\(sourceLabel) is \(source.address.family.name) but the target \(self.target) is \(target.family.name)")
        }
        if proto == .udp, expect != nil, send == nil {
            throw fail("expect", "a UDP peer answers only what it is sent: give send as well")
        }
    }
}
