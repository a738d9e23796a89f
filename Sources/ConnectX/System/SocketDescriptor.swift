#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SocketModel
import SystemCalls
import SystemPackage

/// A socket file descriptor: the raw number and the system calls ConnectX makes on it.
///
/// Like `SystemPackage.FileDescriptor` it does not own the descriptor; `OwnedSocket` does.
/// Every call retries `EINTR` through `SystemCalls.systemCall` and throws the typed `Errno`.
struct SocketDescriptor: RawRepresentable, Hashable, Sendable {
    var rawValue: CInt
    init(rawValue: CInt) { self.rawValue = rawValue }

    /// `socket(2)`: a new close-on-exec socket of `family` and `type`, non-blocking when asked.
    static func open(_ family: AddressFamily, _ type: SocketType, nonBlocking: Bool = false) throws(Errno) -> SocketDescriptor {
        let domain: CInt = family == .ipv4 ? AF_INET : AF_INET6
        var flags = type.rawValue | CInt(SOCK_CLOEXEC.rawValue)
        if nonBlocking { flags |= CInt(SOCK_NONBLOCK.rawValue) }
        let fd = try systemCall { socket(domain, flags, 0) }
        return SocketDescriptor(rawValue: fd)
    }

    /// `setsockopt(2)` with an `int` value (booleans as 0/1).
    func setOption(_ option: SocketOption, _ value: CInt) throws(Errno) {
        var value = value
        _ = try systemCall {
            setsockopt(rawValue, option.level.rawValue, option.name, &value, socklen_t(MemoryLayout<CInt>.size))
        }
    }

    /// `setsockopt(2)` with a `uint32_t` value (`IP_LOCAL_PORT_RANGE`).
    func setOption(_ option: SocketOption, uint32 value: UInt32) throws(Errno) {
        var value = value
        _ = try systemCall {
            setsockopt(rawValue, option.level.rawValue, option.name, &value, socklen_t(MemoryLayout<UInt32>.size))
        }
    }

    /// `getsockopt(2)` of a fixed-size value (`SO_ERROR` as `CInt`, `SO_COOKIE` as `UInt64`).
    func option<Value: FixedWidthInteger>(_ option: SocketOption, as type: Value.Type) throws(Errno) -> Value {
        var value: Value = 0
        var length = socklen_t(MemoryLayout<Value>.size)
        _ = try systemCall { getsockopt(rawValue, option.level.rawValue, option.name, &value, &length) }
        return value
    }

    /// `bind(2)`.
    func bind(_ address: SocketAddress) throws(Errno) {
        _ = try address.withSockaddr { (sa, length) throws(Errno) in
            try systemCall { Glibc.bind(rawValue, sa, length) }
        }
    }

    /// `connect(2)`. On a non-blocking TCP socket this throws `EINPROGRESS` while the
    /// handshake runs: `waitUntilConnected(deadline:)` finishes it.
    func connect(_ address: SocketAddress) throws(Errno) {
        _ = try address.withSockaddr { (sa, length) throws(Errno) in
            try systemCall { Glibc.connect(rawValue, sa, length) }
        }
    }

    /// `getsockname(2)`: the bound local address (with the IPv6 scope id).
    func localAddress() throws(Errno) -> ConnectX.Endpoint {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(Errno) in
                try systemCall { getsockname(rawValue, sa, &length) }
            }
        }
        guard let endpoint = SocketAddress(storage: storage, length: length)?.endpoint else {
            throw Errno.addressFamilyNotSupported
        }
        return endpoint
    }

    /// `poll(2)` for writability until `deadline` (nil: no limit), then `getsockopt(SO_ERROR)`:
    /// the end of a non-blocking `connect()`. Throws `ETIMEDOUT` when the deadline passes
    /// first, or the error the handshake ended with (`ECONNREFUSED`, `EHOSTUNREACH`, ...).
    func waitUntilConnected(deadline: ContinuousClock.Instant?) throws(Errno) {
        var entry = pollfd(fd: rawValue, events: Int16(POLLOUT), revents: 0)
        let ready = try systemCall { () -> CInt in
            poll(&entry, 1, deadline.map(pollTimeout(until:)) ?? -1)
        }
        guard ready > 0 else { throw Errno.timedOut }
        let pending = try option(.error, as: CInt.self)
        if pending != 0 { throw Errno(rawValue: pending) }
    }

    /// `fcntl(2)` `F_SETFL`: turns `O_NONBLOCK` on or off.
    func setNonBlocking(_ on: Bool) throws(Errno) {
        let flags = try systemCall { fcntl(rawValue, F_GETFL) }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try systemCall { fcntl(rawValue, F_SETFL, wanted) } }
    }

    /// `close(2)`, not retried: on Linux the descriptor is released even when it reports `EINTR`.
    func close() throws(Errno) {
        _ = try systemCall(retryOnInterrupt: false) { Glibc.close(rawValue) }
    }
}
