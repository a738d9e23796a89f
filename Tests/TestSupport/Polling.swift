#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` every 10 ms for up to `seconds`, for what another thread or process does
/// in its own time (a server noticing a closed connection); throws naming `what` on timeout.
public func waitUntil(_ what: String, seconds: Int = 10, _ condition: () -> Bool) throws {
    for _ in 0..<(seconds * 100) {
        if condition() { return }
        usleep(10_000)
    }
    throw NetworkNamespace.Failure("timed out after \(seconds) s waiting for \(what)")
}
