#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Runs a C call that returns -1 and sets `errno` on failure, retrying it while it fails with
/// `EINTR`: the one place this module retries interrupted system calls.
@inline(__always)
func retryingOnInterrupt<Value: SignedInteger>(_ call: () -> Value) -> Result<Value, Errno> {
    while true {
        let value = call()
        if value != -1 { return .success(value) }
        let code = errno
        if code != EINTR { return .failure(Errno(rawValue: code)) }
    }
}
