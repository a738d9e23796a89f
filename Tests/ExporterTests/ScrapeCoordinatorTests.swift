import Exporter
import Foundation
import Synchronization
import Testing

@Suite struct ScrapeCoordinatorTests {
    /// Runs `body` on `count` threads at once and waits for all.
    func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            Thread.detachNewThread { body(i); group.leave() }
        }
        group.wait()
    }

    @Test func concurrentScrapesShareOneCollection() {
        let started = Atomic<Int>(0)
        let coordinator = ScrapeCoordinator<Int> { _ in
            let n = started.add(1, ordering: .relaxed).newValue
            usleep(200_000)  // a slow dump: the other scrapes arrive while it runs
            return n
        }
        let results = Mutex<[Int]>([])
        // The first scrape starts the collection; the others arrive while it runs.
        concurrently(8) { i in
            if i > 0 { usleep(50_000) }
            let r = coordinator.result(for: ["sockets"])
            results.withLock { $0.append(r) }
        }
        #expect(coordinator.collections == 1)
        #expect(results.withLock { $0 } == Array(repeating: 1, count: 8))
    }

    @Test func aWiderSelectionStartsItsOwnCollection() {
        let coordinator = ScrapeCoordinator<Set<String>> { selection in usleep(100_000); return selection }
        let results = Mutex<[Set<String>]>([])
        concurrently(2) { i in
            if i == 1 { usleep(20_000) }
            let r = coordinator.result(for: i == 0 ? ["range"] : ["range", "sockets"])
            results.withLock { $0.append(r) }
        }
        #expect(coordinator.collections == 2)
        #expect(Set(results.withLock { $0 }) == [["range"], ["range", "sockets"]])
    }

    @Test func sequentialScrapesCollectAfresh() {
        let coordinator = ScrapeCoordinator<Int> { _ in 1 }
        for _ in 0..<3 { _ = coordinator.result(for: ["range"]) }
        #expect(coordinator.collections == 3)
    }
}
