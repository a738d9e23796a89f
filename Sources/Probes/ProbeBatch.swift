import SystemPackage

/// Runs a list of probes once each, `concurrency` at a time (for `portpressure probe`).
public enum ProbeBatch {
    /// The results in the order of `probes`.
    public static func run(_ probes: [ProbeDefinition], runner: ProbeRunner, concurrency: Int = 8) throws(Errno) -> [ProbeResult] {
        let batch = Batch(probes: probes, runner: runner)
        var threads: [ProbeThread] = []
        var failure: Errno?
        for _ in 0..<min(max(1, concurrency), probes.count) {
            do { threads.append(try ProbeThread.start { batch.work() }) } catch {
                failure = error
                break
            }
        }
        if threads.isEmpty, let failure { throw failure }
        for thread in threads { thread.join() }
        return batch.results.map { $0! }
    }

    private final class Batch: @unchecked Sendable {
        let probes: [ProbeDefinition]
        let runner: ProbeRunner
        let monitor = Monitor()
        /// Guarded by `monitor`.
        var next = 0
        var results: [ProbeResult?]

        init(probes: [ProbeDefinition], runner: ProbeRunner) {
            self.probes = probes
            self.runner = runner
            results = Array(repeating: nil, count: probes.count)
        }

        func work() {
            while true {
                let index: Int? = monitor.withLock {
                    guard next < probes.count else { return nil }
                    defer { next += 1 }
                    return next
                }
                guard let index else { return }
                let result = runner.run(probes[index])
                monitor.withLock { results[index] = result }
            }
        }
    }
}
