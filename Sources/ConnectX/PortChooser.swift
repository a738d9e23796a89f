import SocketModel

/// Userspace port choice for UDP: pure functions of the range, the ports known to be taken,
/// and a random number generator. No I/O, so every rule is unit-tested on plain values.
enum PortChooser {
    /// The range a socket gets: the namespace's range, narrowed by a per-socket range the way
    /// the kernel applies `IP_LOCAL_PORT_RANGE` (each bound is used only when it lies inside
    /// the namespace's range); reserved ports stay reserved.
    static func effectiveRange(namespace: EphemeralRange, perSocket: ClosedRange<UInt16>?) -> EphemeralRange {
        guard let perSocket else { return namespace }
        var low = namespace.low, high = namespace.high
        if (low...high).contains(perSocket.lowerBound) { low = perSocket.lowerBound }
        if (low...high).contains(perSocket.upperBound) { high = perSocket.upperBound }
        return EphemeralRange(low: low, high: high, reservedPorts: namespace.reservedPorts)
    }

    /// The first usable port at or after `start`, wrapping from `high` to `low` once: inside
    /// the range, not reserved, and not `isTaken`. Nil when there is none. A `start` outside
    /// the range begins at `low`.
    static func firstFree(in range: EphemeralRange, from start: UInt16, isTaken: (UInt16) -> Bool) -> UInt16? {
        let first = (range.low...range.high).contains(start) ? start : range.low
        var port = first
        while true {
            if range.isEphemeral(port) && !isTaken(port) { return port }
            port = port == range.high ? range.low : port + 1
            if port == first { return nil }
        }
    }

    /// A uniformly random port of `low...high` (reserved ports included; callers skip them).
    static func randomPort<G: RandomNumberGenerator>(in range: EphemeralRange, using generator: inout G) -> UInt16 {
        UInt16.random(in: range.low...range.high, using: &generator)
    }
}

/// The ports to try, in order, before falling back to a full view of what is taken.
///
/// A linear walk from a random start, as the kernel and the Python reference do, is slow
/// exactly when it matters: a contiguous block of taken ports makes it look at every port of
/// the block. Independent uniform draws are blind to how the taken ports are laid out: at
/// occupancy `o` each draw is free with probability `1 - o`, whatever the range size or
/// fill. So ranges larger than the budget are sampled: `budget` distinct random ports;
/// a range no larger than the budget is walked whole from a random start (exhaustive).
struct PortCandidates {
    let range: EphemeralRange
    let budget: Int
    /// True when the candidates cover the whole range, so running out means no port is free.
    let isExhaustive: Bool
    /// Walking: every usable port in wrap order from a random start. Sampling: the draws so far.
    private var ports: [UInt16] = []
    private var index = 0

    init<G: RandomNumberGenerator>(range: EphemeralRange, budget: Int, using generator: inout G) {
        self.range = range
        self.budget = budget
        isExhaustive = range.limit <= budget
        if isExhaustive {
            let start = PortChooser.randomPort(in: range, using: &generator)
            ports.reserveCapacity(range.limit)
            for port in start...range.high where range.isEphemeral(port) { ports.append(port) }
            if start > range.low {
                for port in range.low...(start - 1) where range.isEphemeral(port) { ports.append(port) }
            }
        } else {
            ports.reserveCapacity(budget)
        }
    }

    /// The next candidate; nil when the range (walking) or the budget (sampling) is spent.
    mutating func next<G: RandomNumberGenerator>(using generator: inout G) -> UInt16? {
        if isExhaustive {
            guard index < ports.count else { return nil }
            defer { index += 1 }
            return ports[index]
        }
        guard ports.count < budget else { return nil }
        // Draw until a new usable port (bounded), else take the next usable one in order.
        for _ in 0..<8 {
            let port = PortChooser.randomPort(in: range, using: &generator)
            if range.isEphemeral(port) && !ports.contains(port) {
                ports.append(port)
                return port
            }
        }
        let start = PortChooser.randomPort(in: range, using: &generator)
        guard let port = PortChooser.firstFree(in: range, from: start, isTaken: { ports.contains($0) }) else { return nil }
        ports.append(port)
        return port
    }
}
