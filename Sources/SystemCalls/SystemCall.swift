#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Runs one system call that returns -1 and sets `errno` on failure, retrying it while it
/// fails with `EINTR`, and throws the typed `Errno` otherwise.
///
/// The project's one place that retries an interrupted call. Calls swift-system wraps
/// (`FileDescriptor.open`, `read`, `writeAll`, `close`) retry inside swift-system; this is
/// for the rest (sockets, `poll`, `pread`, netlink). Pass `retryOnInterrupt: false` for a
/// call that must not be repeated (`close(2)`: on Linux the descriptor is gone even when it
/// reports `EINTR`). `body` is evaluated again on every retry, so a call with a deadline
/// recomputes its remaining time there.
@inline(__always)
public func systemCall<Result: FixedWidthInteger>(
    retryOnInterrupt: Bool = true, _ body: () -> Result
) throws(Errno) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR && retryOnInterrupt { continue }
        throw Errno(rawValue: code)
    }
}
