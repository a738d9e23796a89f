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

    /// The network namespace the probe runs in (`ip netns` name or a namespace file), nil for
    /// the exporter's own: its sockets are made on a thread inside it, as the pod's would be.
    public var netns: String?

    public init(name: String, proto: TransportProtocol, target: ProbeTarget, source: ConnectX.Endpoint? = nil,
                method: ConnectOptions.Method = .connectx, interval: Duration = defaultInterval,
                timeout: Duration = defaultTimeout, send: [UInt8]? = nil, expect: [UInt8]? = nil, netns: String? = nil) {
        self.netns = netns
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

extension ProbeDefinition {
    /// A probe as written, in a probes file or on the command line: the one parser of its
    /// fields for both. Not yet `validate()`d, so a caller can settle the interval first. An
    /// error names the probe and the field as the probes file spells it (`protocol`, `target`,
    /// `source`, `method`, `interval`, `timeout`). Payloads come decoded: their spelling
    /// differs legitimately (`{hex: …}` in YAML, `--send-hex` on the command line).
    public init(parsing name: String, proto protoText: String, target targetText: String, source sourceText: String? = nil,
                method methodText: String? = nil, interval intervalText: String? = nil, timeout timeoutText: String? = nil,
                send: [UInt8]? = nil, expect: [UInt8]? = nil, netns: String? = nil) throws(ProbeConfigError) {
        func invalid(_ field: String, _ text: String, _ expected: String) -> ProbeConfigError {
            ProbeConfigError(probe: name, field: field, message: "\(text.debugDescription) is not \(expected)")
        }
        let proto: TransportProtocol
        switch protoText {
        case "tcp": proto = .tcp
        case "udp": proto = .udp
        default: throw invalid("protocol", protoText, "tcp or udp")
        }
        guard let target = ProbeTarget(parsing: targetText) else {
            throw invalid("target", targetText,
                          "host:port (a DNS name or an address, [brackets] around IPv6, a port from 1 to 65535)")
        }
        var source: ConnectX.Endpoint?
        if let text = sourceText {
            guard let parsed = ConnectX.Endpoint(parsing: text, portOptional: true) else {
                throw invalid("source", text,
                              "an IP address with an optional port (10.0.0.1, 10.0.0.1:5000, [2001:db8::1]:5000, fe80::1%eth0)")
            }
            source = parsed
        }
        var method = ConnectOptions.Method.connectx
        if let text = methodText {
            guard let parsed = ConnectOptions.Method(rawValue: text) else { throw invalid("method", text, "connectx or plain") }
            method = parsed
        }
        func duration(_ field: String, _ text: String?, default value: Duration) throws(ProbeConfigError) -> Duration {
            guard let text else { return value }
            switch ProbeDuration.read(text) {
            case let .success(parsed): return parsed
            case .failure(.notADuration): throw invalid(field, text, "a duration (write e.g. 15s, 500ms, 1m30s)")
            case .failure(.tooLarge):
                throw ProbeConfigError(probe: name, field: field,
                                       message: "\(text.debugDescription) is too long: at most \(ProbeDuration.format(ProbeDuration.maximum)) (366 days)")
            }
        }
        self.init(name: name, proto: proto, target: target, source: source, method: method,
                  interval: try duration("interval", intervalText, default: Self.defaultInterval),
                  timeout: try duration("timeout", timeoutText, default: Self.defaultTimeout),
                  send: send, expect: expect, netns: netns)
        if netns?.isEmpty == true { throw invalid("netns", "", "an ip netns name or a namespace file path") }
    }
}
