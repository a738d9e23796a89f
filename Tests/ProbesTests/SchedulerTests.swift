#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Probes
import Synchronization
import TestSupport
import Testing

/// Records what a scheduler asked for, in place of real probes; tests wait on it for the
/// runs they need (each start and end wakes the waiters).
final class ExecutionLog: @unchecked Sendable {
    struct State {
        var running: Set<String> = []
        var mostAtOnce = 0
        var selfOverlaps = 0
        var starts: [String: [ContinuousClock.Instant]] = [:]
    }

    private let condition = NSCondition()
    private var current = State()
    let work: Duration
    let failing: Set<String>

    init(work: Duration, failing: Set<String> = []) {
        self.work = work
        self.failing = failing
    }

    private func update(_ body: (inout State) -> Void) {
        condition.lock()
        body(&current)
        condition.broadcast()
        condition.unlock()
    }

    var state: State { condition.lock(); defer { condition.unlock() }; return current }

    /// Waits (bounded) until `predicate` holds for the log; false on timeout.
    func wait(timeout: Duration = .seconds(10), until predicate: (State) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        condition.lock()
        defer { condition.unlock() }
        while !predicate(current) {
            guard condition.wait(until: deadline) else { return predicate(current) }
        }
        return true
    }

    func execute(_ probe: ProbeDefinition) -> ProbeResult {
        let start = ContinuousClock.now
        update { state in
            if !state.running.insert(probe.name).inserted { state.selfOverlaps += 1 }
            state.mostAtOnce = max(state.mostAtOnce, state.running.count)
            state.starts[probe.name, default: []].append(start)
        }
        // Time passes on purpose: a probe takes this long, so that runs overlap.
        let (seconds, attoseconds) = work.components
        usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        update { _ = $0.running.remove(probe.name) }
        return ProbeResult(probe: probe.name, failure: failing.contains(probe.name) ? .eagain : nil,
                           duration: ContinuousClock.now - start, finishedAt: wallClockSeconds())
    }

    func runs(_ name: String) -> Int { state.starts[name]?.count ?? 0 }
    var total: Int { state.starts.values.reduce(0) { $0 + $1.count } }
}

func scheduled(_ name: String, interval: Duration, target: String = "127.0.0.1:80") -> ProbeDefinition {
    ProbeDefinition(name: name, proto: .tcp, target: ProbeTarget(parsing: target)!, interval: interval, timeout: interval / 2)
}

extension ProbesTests {
    @Suite struct ScheduleTests {
        @Test func offsetsAreDeterministicInsideTheIntervalAndSpread() {
            let interval = Duration.seconds(15)
            var buckets = Set<Int64>()
            for i in 0..<100 {
                let offset = ProbeSchedule.offset(name: "probe-\(i)", interval: interval)
                #expect(offset >= .zero && offset < interval)
                #expect(offset == ProbeSchedule.offset(name: "probe-\(i)", interval: interval))
                buckets.insert(ProbeSchedule.nanoseconds(offset) / 1_500_000_000)
            }
            // 100 names over 10 tenths of the interval: every tenth gets some.
            #expect(buckets.count == 10)
            #expect(ProbeSchedule.offset(name: "a", interval: .zero) == .zero)
        }

        @Test func nextSkipsMissedSlots() {
            let start = ContinuousClock.now
            let interval = Duration.seconds(10)
            #expect(ProbeSchedule.next(after: start, interval: interval, now: start + .seconds(1)) == start + .seconds(10))
            #expect(ProbeSchedule.next(after: start, interval: interval, now: start + .seconds(10)) == start + .seconds(20))
            #expect(ProbeSchedule.next(after: start, interval: interval, now: start + .seconds(25)) == start + .seconds(30))
            #expect(ProbeSchedule.next(after: start, interval: interval, now: start - .seconds(5)) == start + .seconds(10))
        }
    }

    @Suite struct SchedulerTests {
        @Test func boundedConcurrencySpreadStartsAndNoProbeRunsTwiceAtOnce() throws {
            let log = ExecutionLog(work: .milliseconds(60))
            let scheduler = ProbeScheduler(concurrency: 2, execute: { log.execute($0) })
            let interval = Duration.milliseconds(200)
            let names = ["a", "b", "c", "d", "e", "f"]
            let begin = ContinuousClock.now
            scheduler.replace(names.map { scheduled($0, interval: interval) })
            try scheduler.start()
            let ran = log.wait { state in names.allSatisfy { (state.starts[$0]?.count ?? 0) >= 3 } }
            let stopBegin = ContinuousClock.now
            scheduler.stop()
            #expect(ContinuousClock.now - stopBegin < .milliseconds(500))
            #expect(ran)
            let state = log.state
            #expect(state.mostAtOnce == 2)
            #expect(state.selfOverlaps == 0)
            for name in names {
                // No probe fires before its offset: they do not all start at once.
                let first = try #require(state.starts[name]?.first)
                #expect(first >= begin + ProbeSchedule.offset(name: name, interval: interval))
            }
            let offsets = Set(names.map { ProbeSchedule.offset(name: $0, interval: interval) })
            #expect(offsets.count == names.count)
            // Stopped means stopped: stop() joined the workers, and time passes on purpose here,
            // two intervals in which a stray worker would have fired.
            let total = log.total
            usleep(400_000)
            #expect(log.total == total)
            let statuses = scheduler.statuses()
            #expect(statuses.map(\.definition.name) == names)
            #expect(statuses.map(\.runs).reduce(0, +) == total)
        }

        @Test func replacingKeepsTheCountersOfProbesThatStay() throws {
            let log = ExecutionLog(work: .milliseconds(5), failing: ["a"])
            let scheduler = ProbeScheduler(concurrency: 3, execute: { log.execute($0) })
            defer { scheduler.stop() }
            let interval = Duration.milliseconds(50)
            scheduler.replace([scheduled("a", interval: interval), scheduled("b", interval: interval)])
            try scheduler.start()
            #expect(eventually { scheduler.statuses().allSatisfy { $0.runs >= 3 } })

            let before = try #require(scheduler.statuses().first { $0.definition.name == "a" })
            #expect(before.failures(.eagain) == before.runs)
            scheduler.replace([scheduled("a", interval: interval, target: "127.0.0.9:80"), scheduled("c", interval: interval)])
            let after = scheduler.statuses()
            #expect(after.map(\.definition.name) == ["a", "c"])
            #expect(after[0].definition.target.description == "127.0.0.9:80")
            #expect(after[0].runs >= before.runs)
            #expect(after[0].failures(.eagain) >= before.failures(.eagain))
            #expect(after[1].runs == 0)
            #expect(after[1].last == nil)

            #expect(eventually { scheduler.statuses().last!.runs >= 3 && scheduler.statuses()[0].runs >= before.runs + 3 })
            // b is gone: at most the run in progress at the swap finishes, then nothing, while
            // c (same 50 ms interval) starts five more times (200 ms or more).
            #expect(log.wait { !$0.running.contains("b") })
            let bRuns = log.runs("b")
            let cRuns = log.runs("c")
            #expect(log.wait { ($0.starts["c"]?.count ?? 0) >= cRuns + 5 })
            #expect(log.runs("b") == bRuns)
            let final = scheduler.statuses()
            #expect(final[0].failures(.eagain) == final[0].runs)
            #expect(final[1].failures.isEmpty)
        }

        @Test func aChangedIntervalTakesEffect() throws {
            let log = ExecutionLog(work: .milliseconds(1))
            let scheduler = ProbeScheduler(concurrency: 1, execute: { log.execute($0) })
            defer { scheduler.stop() }
            scheduler.replace([scheduled("a", interval: .seconds(3600))])
            try scheduler.start()
            // Time passes on purpose: an hourly probe runs at most once in it.
            usleep(100_000)
            #expect(log.runs("a") <= 1)
            scheduler.replace([scheduled("a", interval: .milliseconds(40))])
            #expect(log.wait { ($0.starts["a"]?.count ?? 0) >= 5 })
        }
    }
}
