import SystemPackage

/// Runs each probe on its own schedule (`ProbeSchedule`) with at most `concurrency` runs at
/// once, on threads of its own.
///
/// - A probe never runs twice at once; a run that overlaps its next slot skips that slot.
/// - `replace(_:)` swaps the set of probes at once: a probe whose name survives keeps its
///   counters, last result and (same interval) its phase; a removed probe's run in progress
///   finishes and is forgotten.
/// - `stop()` waits for the runs in progress (each bounded by its timeout) and returns.
///
/// The worker threads start in `start()`, and inherit the calling thread's signal mask and
/// network namespace. They hold the scheduler until `stop()`: call it.
public final class ProbeScheduler: @unchecked Sendable {
    public typealias Execute = @Sendable (ProbeDefinition) -> ProbeResult

    /// One configured probe. Guarded by `monitor`.
    private final class Slot {
        var status: ProbeStatus
        var due: ContinuousClock.Instant
        var running = false
        /// Set when a reload removed the probe.
        var retired = false
        /// Bumped when a reload resets `due`, so a run in progress does not overwrite it.
        var generation = 0

        init(status: ProbeStatus, due: ContinuousClock.Instant) {
            self.status = status
            self.due = due
        }
    }

    public let concurrency: Int
    private let execute: Execute
    private let onResult: (@Sendable (ProbeResult, _ previous: ProbeResult?) -> Void)?
    private let monitor = Monitor()
    private var slots: [Slot] = []
    private var workers: [ProbeThread] = []
    private var stopping = false
    private var started = false

    /// - Parameters:
    ///   - concurrency: the most runs at once (worker threads), at least 1.
    ///   - execute: runs one probe (`ProbeRunner.run` outside tests).
    ///   - onResult: called after each run with its result and the probe's previous one (for
    ///     logging state changes), on the worker's thread.
    public init(concurrency: Int = 8, execute: @escaping Execute,
                onResult: (@Sendable (ProbeResult, _ previous: ProbeResult?) -> Void)? = nil) {
        self.concurrency = max(1, concurrency)
        self.execute = execute
        self.onResult = onResult
    }

    public convenience init(concurrency: Int = 8, runner: ProbeRunner,
                            onResult: (@Sendable (ProbeResult, _ previous: ProbeResult?) -> Void)? = nil) {
        self.init(concurrency: concurrency, execute: { runner.run($0) }, onResult: onResult)
    }

    /// Starts the worker threads (once; later calls do nothing).
    public func start() throws(Errno) {
        let begin: Bool = monitor.withLock {
            defer { started = true }
            return !started && !stopping
        }
        guard begin else { return }
        var threads: [ProbeThread] = []
        do {
            for _ in 0..<concurrency {
                threads.append(try ProbeThread.start { self.work() })
            }
        } catch {
            monitor.withLock { workers = threads }
            stop()
            throw error
        }
        monitor.withLock { workers = threads }
    }

    /// Replaces the probes (names must be unique, as `ProbeConfig` guarantees).
    public func replace(_ probes: [ProbeDefinition]) {
        let now = ContinuousClock.now
        monitor.withLock {
            var existing: [String: Slot] = [:]
            for slot in slots { existing[slot.status.definition.name] = slot }
            var next: [Slot] = []
            for probe in probes {
                if let slot = existing.removeValue(forKey: probe.name) {
                    if slot.status.definition.interval != probe.interval {
                        slot.due = now + ProbeSchedule.offset(name: probe.name, interval: probe.interval)
                        slot.generation += 1
                    }
                    slot.status.definition = probe
                    next.append(slot)
                } else {
                    next.append(Slot(status: ProbeStatus(definition: probe),
                                     due: now + ProbeSchedule.offset(name: probe.name, interval: probe.interval)))
                }
            }
            for slot in existing.values { slot.retired = true }
            slots = next
            monitor.broadcast()
        }
    }

    /// The probes in configuration order, with their counters.
    public func statuses() -> [ProbeStatus] {
        monitor.withLock { slots.map(\.status) }
    }

    /// Stops scheduling, waits for runs in progress, joins the threads. Idempotent.
    public func stop() {
        let threads: [ProbeThread] = monitor.withLock {
            stopping = true
            monitor.broadcast()
            defer { workers = [] }
            return workers
        }
        for thread in threads { thread.join() }
    }

    /// A worker: take the most overdue idle probe, run it, record it; sleep until the next is due.
    private func work() {
        monitor.lock()
        defer { monitor.unlock() }
        while !stopping {
            guard let slot = slots.lazy.filter({ !$0.running }).min(by: { $0.due < $1.due }) else {
                monitor.wait(until: nil)
                continue
            }
            guard slot.due <= ContinuousClock.now else {
                monitor.wait(until: slot.due)
                continue
            }
            slot.running = true
            let probe = slot.status.definition
            let scheduled = slot.due
            let generation = slot.generation

            monitor.unlock()
            let result = execute(probe)
            monitor.lock()

            slot.running = false
            let counted = !slot.retired
            let previous = slot.status.last
            if counted { slot.status.record(result) }
            if slot.generation == generation {
                slot.due = ProbeSchedule.next(after: scheduled, interval: slot.status.definition.interval, now: .now)
            }
            monitor.broadcast()
            if counted, let onResult {
                monitor.unlock()
                onResult(result, previous)
                monitor.lock()
            }
        }
    }
}
