#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// A POSIX thread running a closure.
///
/// Probes run on threads of their own rather than in Swift concurrency's pool: a new thread
/// inherits its creator's signal mask (`serve` blocks SIGTERM/SIGINT/SIGHUP before starting
/// any, and waits for them with `sigwait`) and its network namespace (tests create the
/// scheduler from a namespace's thread), and a blocking `connect()` or `getaddrinfo()` holds
/// only its own thread.
final class ProbeThread: @unchecked Sendable {
    private let thread: pthread_t

    private init(thread: pthread_t) { self.thread = thread }

    /// `pthread_create(3)`: starts `body` on a new joinable thread.
    static func start(_ body: @escaping @Sendable () -> Void) throws(Errno) -> ProbeThread {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw Errno(rawValue: status)
        }
        return ProbeThread(thread: thread)
    }

    /// Starts `body` on a thread nobody joins: its resources go when it returns.
    static func detach(_ body: @escaping @Sendable () -> Void) throws(Errno) {
        let started = try start(body)
        pthread_detach(started.thread)
    }

    /// `pthread_join(3)`: waits for the thread to return. Call once, from another thread.
    func join() {
        pthread_join(thread, nil)
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

/// A mutex and a condition variable whose timed waits run on `CLOCK_MONOTONIC`, so a change
/// of the wall clock neither stalls nor hurries a schedule.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// `pthread_mutex_lock(3)`; prefer `withLock`.
    func lock() { pthread_mutex_lock(mutex) }

    /// `pthread_mutex_unlock(3)`.
    func unlock() { pthread_mutex_unlock(mutex) }

    /// With the lock held: sleeps until `broadcast()` or `deadline` (nil: no deadline), which
    /// may also end early (spurious wake-ups): callers re-check their condition.
    func wait(until deadline: ContinuousClock.Instant?) {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return
        }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = remaining.components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var wake = timespec(tv_sec: now.tv_sec + Int(seconds) + nanoseconds / 1_000_000_000, tv_nsec: 0)
        nanoseconds %= 1_000_000_000
        wake.tv_nsec = nanoseconds
        pthread_cond_timedwait(condition, mutex, &wake)
    }

    /// Wakes every waiter; call with the lock held.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

/// Seconds since the Unix epoch (`clock_gettime(CLOCK_REALTIME)`), for timestamps in metrics.
func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
