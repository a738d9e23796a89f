#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Deadlines as the calls that wait take them.

/// The timeout `poll(2)` and `epoll_wait(2)` take to wait until `deadline`: the time left
/// rounded up to whole milliseconds (a wait never ends before its deadline), 0 once it has
/// passed, at most `CInt.max`.
public func pollTimeout(until deadline: ContinuousClock.Instant) -> CInt {
    let remaining = deadline - .now
    guard remaining > .zero else { return 0 }
    let (seconds, attoseconds) = remaining.components
    guard seconds < Int64(CInt.max) / 1_000 else { return .max }
    return CInt(clamping: seconds * 1_000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
}

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
