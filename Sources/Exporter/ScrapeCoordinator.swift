import Dispatch
import Synchronization

/// Runs collections so that concurrent scrapes share one collection in flight.
///
/// A scrape that arrives while a collection covering its collectors is running waits for that
/// one instead of starting another (a second SOCK_DIAG dump of the whole host would double the
/// kernel's work exactly when a host is busiest). A scrape asking for collectors the running
/// collection does not cover starts its own.
public final class ScrapeCoordinator<Result: Sendable>: Sendable {
    /// One collection in flight. Its result is written once, before `done` is left, and read
    /// only after waiting for `done`: the group orders the write before every read.
    private final class Flight: @unchecked Sendable {
        let selection: Set<String>
        let done = DispatchGroup()
        var result: Result?
        init(selection: Set<String>) {
            self.selection = selection
            done.enter()
        }
    }

    private struct State {
        var flights: [Flight] = []
        var started = 0
    }

    private let state = Mutex(State())
    private let collect: @Sendable (Set<String>) -> Result
    private let joined: @Sendable (Set<String>) -> Void

    /// Collections actually run (not shared), for tests and debugging.
    public var collections: Int { state.withLock { $0.started } }

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
        let (flight, leads) = state.withLock { state -> (Flight, Bool) in
            if let running = state.flights.first(where: { $0.selection.isSuperset(of: selection) }) {
                // Still under the lock: the flight cannot finish before `joined` has returned.
                joined(selection)
                return (running, false)
            }
            let flight = Flight(selection: selection)
            state.flights.append(flight)
            state.started += 1
            return (flight, true)
        }
        guard leads else {
            flight.done.wait()
            return flight.result!
        }

        let result = collect(selection)

        flight.result = result
        state.withLock { $0.flights.removeAll { $0 === flight } }
        flight.done.leave()
        return result
    }
}
