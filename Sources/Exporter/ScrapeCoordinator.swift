import Foundation

/// Runs collections so that concurrent scrapes share one collection in flight.
///
/// A scrape that arrives while a collection covering its collectors is running waits for that
/// one instead of starting another (a second SOCK_DIAG dump of the whole host would double the
/// kernel's work exactly when a host is busiest). A scrape asking for collectors the running
/// collection does not cover starts its own.
public final class ScrapeCoordinator<Result: Sendable>: @unchecked Sendable {
    private final class Flight {
        let selection: Set<String>
        var result: Result?
        init(selection: Set<String>) { self.selection = selection }
    }

    private let condition = NSCondition()
    private var flights: [Flight] = []
    private let collect: @Sendable (Set<String>) -> Result
    private let joined: @Sendable (Set<String>) -> Void
    private var started = 0

    /// Collections actually run (not shared), for tests and debugging.
    public var collections: Int {
        condition.lock()
        defer { condition.unlock() }
        return started
    }

    /// - Parameters:
    ///   - collect: runs one collection of the named collectors; called on the scraping
    ///     thread, never twice at once for a selection a running one covers.
    ///   - joined: called with a scrape's selection when it joins a running collection
    ///     instead of starting one, before it waits (lets tests order events without sleeping).
    public init(collect: @escaping @Sendable (Set<String>) -> Result, joined: @escaping @Sendable (Set<String>) -> Void = { _ in }) {
        self.collect = collect
        self.joined = joined
    }

    /// The result of a collection covering `selection`: a running one if there is one, else a new one.
    public func result(for selection: Set<String>) -> Result {
        condition.lock()
        if let flight = flights.first(where: { $0.selection.isSuperset(of: selection) }) {
            joined(selection)
            while flight.result == nil { condition.wait() }
            let result = flight.result!
            condition.unlock()
            return result
        }
        let flight = Flight(selection: selection)
        flights.append(flight)
        started += 1
        condition.unlock()

        let result = collect(selection)

        condition.lock()
        flight.result = result
        flights.removeAll { $0 === flight }
        condition.broadcast()
        condition.unlock()
        return result
    }
}
