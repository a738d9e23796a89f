#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Blocks the calling thread until `duration` has passed on the monotonic clock, resuming
/// after signals (`nanosleep` through `systemCall`, with what is left recomputed on every
/// retry). For synchronous code: async code has `Task.sleep`.
public func sleepThread(for duration: Duration) {
    let deadline = ContinuousClock.now + duration
    _ = try? systemCall { () -> Int32 in
        let (seconds, attoseconds) = ContinuousClock.now.duration(to: deadline).components
        guard seconds > 0 || (seconds == 0 && attoseconds > 0) else { return 0 }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        return nanosleep(&request, nil)
    }
}
