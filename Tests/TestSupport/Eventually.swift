#if canImport(Glibc)
import Glibc
#endif

/// Thrown from an `eventually` check when waiting longer cannot help (a child exited).
public struct StopWaiting: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What `waitUntil` throws when its deadline passed.
public struct TimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `check` until it returns true, for a state that has no event to wait on (a kernel
/// table, another process's answer, a timer-driven scheduler's counters). Bounded by
/// `timeout`; the pause between polls only spaces the checks, it orders nothing.
/// An error thrown by `check` counts as "not yet" (it is reported on timeout), except
/// `StopWaiting`, which ends the wait at once.
public func waitUntil(_ what: String = "the condition", timeout: Duration = .seconds(10), every pause: Duration = .milliseconds(10),
                      _ check: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while true {
        do {
            if try check() { return }
            lastError = nil
        } catch let error as StopWaiting {
            throw error
        } catch {
            lastError = error
        }
        guard ContinuousClock.now < deadline else { break }
        let (seconds, attoseconds) = pause.components
        var interval = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&interval, &remaining) != 0 && errno == EINTR { interval = remaining }
    }
    throw TimedOut(description: "timed out after \(timeout) waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}

/// `waitUntil` as a Bool for `#expect(eventually { ... })`: true once `check` holds, false on
/// timeout (or StopWaiting).
public func eventually(timeout: Duration = .seconds(10), every pause: Duration = .milliseconds(10), _ check: () throws -> Bool) -> Bool {
    (try? waitUntil(timeout: timeout, every: pause, check)) != nil
}
