import ConnectX
import SocketModel
import Synchronization

/// Turns a `ProbeTarget` into an address, at each run: literals directly, names with
/// `ConnectX.resolve` (`getaddrinfo(3)`: the host's resolver configuration, `/etc/hosts`
/// included), as an application would.
///
/// `getaddrinfo` cannot be cancelled or given a timeout, so a name is resolved on a thread of
/// its own while the probe waits at most until its deadline; a lookup that outlives it
/// finishes in the background and is dropped. At most `maximumPending` lookups are in the
/// background at once, so a dead DNS server cannot pile up threads.
enum TargetResolver {
    static let maximumPending = 16
    private static let pending = Atomic<Int>(0)

    enum Failure: Error, Sendable, Hashable {
        /// The deadline passed before the resolver answered.
        case timedOut
        /// The resolver answered with an error (`EAI_NONAME`...), or no address of the family.
        case failed(String)
    }

    /// The first address the resolver gives for `target` (in its RFC 6724 order), of
    /// `family` when given (the source's family); by `deadline` at the latest.
    static func resolve(_ target: ProbeTarget, family: AddressFamily?,
                        deadline: ContinuousClock.Instant) throws(Failure) -> ConnectX.Endpoint {
        if let literal = target.literalAddress {
            guard family == nil || literal.family == family else {
                throw .failed("\(target) is \(literal.family.name), the source is \(family!.name)")
            }
            guard let endpoint = ConnectX.Endpoint(parsing: target.description) else {
                throw .failed("\(target.host): no such interface in this network namespace")
            }
            return endpoint
        }
        guard pending.add(1, ordering: .relaxed).newValue <= maximumPending else {
            pending.subtract(1, ordering: .relaxed)
            throw .failed("\(maximumPending) name lookups are still running: the resolver is not answering")
        }
        let lookup = Lookup()
        do {
            try ProbeThread.detach {
                let result = addresses(target, family: family)
                lookup.monitor.withLock {
                    lookup.result = result
                    lookup.monitor.broadcast()
                }
                pending.subtract(1, ordering: .relaxed)
            }
        } catch {
            pending.subtract(1, ordering: .relaxed)
            throw .failed("cannot start a thread for the lookup: \(error)")
        }
        let result: Result<ConnectX.Endpoint, Failure>? = lookup.monitor.withLock {
            while lookup.result == nil && ContinuousClock.now < deadline {
                lookup.monitor.wait(until: deadline)
            }
            return lookup.result
        }
        guard let result else { throw .timedOut }
        return try result.get()
    }

    private final class Lookup: @unchecked Sendable {
        let monitor = Monitor()
        /// Guarded by `monitor`.
        var result: Result<ConnectX.Endpoint, Failure>?
    }

    /// `ConnectX.resolve` (`getaddrinfo(3)`): the first address of `family` (any when nil).
    static func addresses(_ target: ProbeTarget, family: AddressFamily?) -> Result<ConnectX.Endpoint, Failure> {
        do {
            let endpoints = try ConnectX.resolve(target.description)
            guard let first = endpoints.first(where: { family == nil || $0.address.family == family }) else {
                return .failure(.failed("\(target.host) has no \(family.map { "\($0.name) " } ?? "")address"))
            }
            return .success(first)
        } catch {
            return .failure(.failed("cannot resolve \(error.detail.isEmpty ? target.host : error.detail)"))
        }
    }
}
