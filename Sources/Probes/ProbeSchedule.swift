/// When a probe runs: at a fixed offset inside its interval, derived from its name, then
/// every interval after that.
///
/// The offset spreads probes of the same interval across it (no thundering herd at start or
/// after a reload) and is deterministic, as Prometheus derives a target's scrape offset from
/// a hash of it: a probe keeps its phase across restarts and reloads, which keeps its
/// samples evenly spaced.
public enum ProbeSchedule {
    /// A point of `interval` chosen by the FNV-1a hash of `name`: in `[0, interval)`.
    public static func offset(name: String, interval: Duration) -> Duration {
        let length = nanoseconds(interval)
        guard length > 0 else { return .zero }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return .nanoseconds(Int64(hash % UInt64(length)))
    }

    /// The first slot after `now` of the series `scheduled + k × interval` (k ≥ 1): a run that
    /// ended late skips the slots it missed instead of running them back to back.
    public static func next(after scheduled: ContinuousClock.Instant, interval: Duration,
                            now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        let length = max(nanoseconds(interval), 1)
        let late = max(nanoseconds(now - scheduled), 0)
        let slots = late / length + 1
        return scheduled + .nanoseconds(slots * length)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
