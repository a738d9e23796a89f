#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Runs one system call that returns -1 and sets `errno` on failure, retrying it while it
/// fails with `EINTR`. This is the only place ConnectX retries an interrupted call.
///
/// Pass `retryOnInterrupt: false` for calls that must not be repeated (`close(2)`: on Linux
/// the descriptor is gone even when it reports `EINTR`). `body` is re-evaluated on every
/// retry, so a call with a deadline recomputes its remaining time there.
@inline(__always)
func systemCall<Result: FixedWidthInteger>(
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
