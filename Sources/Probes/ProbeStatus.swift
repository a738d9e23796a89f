/// A probe as the scheduler holds it: its definition, its counters since it was first
/// configured (a reload that keeps the name keeps them), and its last result.
public struct ProbeStatus: Sendable {
    public var definition: ProbeDefinition
    /// Runs finished.
    public var runs: Int
    /// Failed runs by reason; a reason that never happened is absent (read it as 0).
    public var failures: [ProbeFailureReason: Int]
    /// The last finished run; nil before the first.
    public var last: ProbeResult?

    public init(definition: ProbeDefinition, runs: Int = 0, failures: [ProbeFailureReason: Int] = [:], last: ProbeResult? = nil) {
        self.definition = definition
        self.runs = runs
        self.failures = failures
        self.last = last
    }

    public func failures(_ reason: ProbeFailureReason) -> Int { failures[reason] ?? 0 }

    /// Counts `result`.
    public mutating func record(_ result: ProbeResult) {
        runs += 1
        if let reason = result.failure { failures[reason, default: 0] += 1 }
        last = result
    }
}
