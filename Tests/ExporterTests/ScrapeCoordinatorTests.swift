import Exporter
import Foundation
import Synchronization
import Testing

@Suite struct ScrapeCoordinatorTests {
    /// Runs `body` on `count` threads at once and waits (bounded) for all.
    func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Bool {
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            Thread.detachNewThread { body(i); group.leave() }
        }
        return group.wait(timeout: .now() + 30) == .success
    }

    @Test func concurrentScrapesShareOneCollection() {
        let started = Atomic<Int>(0)
        let running = DispatchSemaphore(value: 0), joined = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let coordinator = ScrapeCoordinator<Int>(collect: { _ in
            let n = started.add(1, ordering: .relaxed).newValue
            running.signal()
            // A slow dump: it ends only once every other scrape is waiting for it.
            _ = release.wait(timeout: .now() + 30)
            return n
        }, joined: { _ in joined.signal() })
        Thread.detachNewThread {
            for _ in 1..<8 { _ = joined.wait(timeout: .now() + 30) }
            release.signal()
        }
        let results = Mutex<[Int]>([])
        // The first scrape starts the collection; the others arrive while it runs.
        let finished = concurrently(8) { i in
            if i > 0 { _ = running.wait(timeout: .now() + 30); running.signal() }
            let r = coordinator.result(for: ["sockets"])
            results.withLock { $0.append(r) }
        }
        #expect(finished)
        #expect(coordinator.collections == 1)
        #expect(results.withLock { $0 } == Array(repeating: 1, count: 8))
    }

    @Test func aWiderSelectionStartsItsOwnCollection() {
        let narrowRunning = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let coordinator = ScrapeCoordinator<Set<String>> { selection in
            if selection == ["range"] {
                narrowRunning.signal()
                _ = release.wait(timeout: .now() + 30)
            }
            return selection
        }
        let results = Mutex<[Set<String>]>([])
        let finished = concurrently(2) { i in
            if i == 1 { _ = narrowRunning.wait(timeout: .now() + 30) }
            let r = coordinator.result(for: i == 0 ? ["range"] : ["range", "sockets"])
            results.withLock { $0.append(r) }
            // The wider scrape finished its own collection while the narrow one still ran.
            if i == 1 { release.signal() }
        }
        #expect(finished)
        #expect(coordinator.collections == 2)
        #expect(Set(results.withLock { $0 }) == [["range"], ["range", "sockets"]])
    }

    @Test func sequentialScrapesCollectAfresh() {
        let coordinator = ScrapeCoordinator<Int> { _ in 1 }
        for _ in 0..<3 { _ = coordinator.result(for: ["range"]) }
        #expect(coordinator.collections == 3)
    }
}
