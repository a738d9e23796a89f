#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemCalls
import SystemPackage

/// The system calls a probe makes on its connected socket after ConnectX hands it over,
/// each bounded by the run's deadline. The socket stays in blocking mode; every call that
/// could wait is made with `MSG_DONTWAIT` after a `poll(2)`, so no call outlives the deadline.
enum ProbeIO {
    /// `poll(2)` for `events` until `deadline`; `ETIMEDOUT` when the deadline passes first.
    /// Returns the events that occurred (an error condition counts: the next call reports it).
    static func wait(_ fd: CInt, for events: Int16, deadline: ContinuousClock.Instant) throws(Errno) -> Int16 {
        while true {
            guard deadline > ContinuousClock.now else { throw .timedOut }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            // At most a day a call: the loop takes up what is left.
            let ready = try systemCall { poll(&entry, 1, min(pollTimeout(until: deadline), 86_400_000)) }
            if ready > 0 { return entry.revents }
        }
    }

    /// `send(2)` of every byte (TCP may take several calls), with `MSG_NOSIGNAL` so a closed
    /// peer is `EPIPE`, not a signal.
    static func sendAll(_ fd: CInt, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(Errno) {
        var offset = 0
        repeat {
            _ = try wait(fd, for: Int16(POLLOUT), deadline: deadline)
            let sent = bytes.withUnsafeBytes { buffer in
                Result { () throws(Errno) in
                    try systemCall {
                        Glibc.send(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset, CInt(MSG_NOSIGNAL | MSG_DONTWAIT))
                    }
                }
            }
            offset += try sent.get()
        } while offset < bytes.count
    }

    /// `recv(2)` of what has arrived, after waiting for it until `deadline`: at most
    /// `buffer.count` bytes (one datagram for UDP, truncated to fit); 0 is end of stream.
    static func receive(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant) throws(Errno) -> Int {
        while true {
            _ = try wait(fd, for: Int16(POLLIN), deadline: deadline)
            do {
                return try systemCall { recv(fd, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT)) }
            } catch where error == .resourceTemporarilyUnavailable || error == .wouldBlock {
                continue // woken without data (a datagram with a bad checksum was dropped)
            }
        }
    }

    /// `getsockopt(SOL_SOCKET, SO_COOKIE)`: the socket's 64-bit id, as SOCK_DIAG reports it.
    static func cookie(_ fd: CInt) throws(Errno) -> UInt64 {
        var cookie: UInt64 = 0
        var length = socklen_t(MemoryLayout<UInt64>.size)
        _ = try systemCall { getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &length) }
        return cookie
    }
}
