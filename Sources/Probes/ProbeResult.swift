import ConnectX

/// What one run of a probe found.
public struct ProbeResult: Sendable, Hashable {
    /// The probe's name.
    public var probe: String
    /// nil when the probe succeeded.
    public var failure: ProbeFailureReason?
    /// From the start of the run (name resolution included) to the socket's close.
    public var duration: Duration
    /// The local address and port the connection used, when it got that far.
    public var local: ConnectX.Endpoint?
    /// The address the target resolved to, when it did.
    public var remote: ConnectX.Endpoint?
    /// For a failure, what happened (the step and errno, the reply's first bytes…).
    public var detail: String
    /// When the run ended, in seconds since the Unix epoch.
    public var finishedAt: Double

    public init(probe: String, failure: ProbeFailureReason?, duration: Duration, local: ConnectX.Endpoint? = nil,
                remote: ConnectX.Endpoint? = nil, detail: String = "", finishedAt: Double) {
        self.probe = probe
        self.failure = failure
        self.duration = duration
        self.local = local
        self.remote = remote
        self.detail = detail
        self.finishedAt = finishedAt
    }

    public var succeeded: Bool { failure == nil }
}
