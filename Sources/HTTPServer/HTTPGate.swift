import CMicroHTTPD
import Logging
import Synchronization
import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// The server's front door: one thread with one epoll set accepts every connection and holds it
/// until its request head (and its small body, if any) has arrived whole, then hands it to a libmicrohttpd daemon
/// (`MHD_add_connection`). Nothing else reaches libmicrohttpd.
///
/// Why: libmicrohttpd's timeout is an idle timeout, which a client sending a byte every few
/// seconds resets forever, and with a thread per connection such clients also cost a thread
/// each. Here a waiting connection costs a descriptor and an epoll entry, and whatever trickles
/// in, its head must be complete within `headDeadline` of connecting or it is answered 408 and
/// closed. Waiting connections are limited in total and per client address; refusals are
/// counted and logged once per interval with their count, not once each.
///
/// The head is judged by `RequestHead` on bytes peeked (MSG_PEEK), so libmicrohttpd later reads
/// the same bytes; a head it refuses is answered here with a plain-text reason. This also keeps
/// libmicrohttpd 0.9.75 away from a bug of its own: when it refuses a malformed or too large
/// `Content-Length`, `parse_connection_headers` queues the error response and builds its header
/// (`transmit_error_response`) but does not stop, and `MHD_connection_handle_idle` then moves the
/// connection on to `HEADERS_PROCESSED` and `FOOTERS_RECEIVED`, where the header is built a
/// second time into the same write buffer: the status line and headers go out twice, then the
/// body. Such heads never get to libmicrohttpd now.
final class HTTPGate: @unchecked Sendable {
    struct Settings: Sendable {
        var headDeadline: Duration
        /// Connections waiting for their head, all clients together.
        var maxWaiting: Int
        /// Connections waiting for their head, per client address.
        var maxWaitingPerClient: Int
        var limits: RequestHead.Limits
        /// How often counted refusals are logged (one line per kind with its count).
        var logInterval: Duration
        /// False under TLS: the bytes are a TLS handshake, not a request head, so a connection
        /// is handed over as soon as it sends anything (libmicrohttpd then does the handshake
        /// and reads the head, with its idle timeout only), and one that sends nothing by the
        /// deadline is closed without an answer.
        var judgesHeads: Bool = true
    }

    private struct Waiting {
        let daemon: OpaquePointer
        var address: sockaddr_storage
        let addressLength: socklen_t
        let client: [UInt8]
        let deadline: ContinuousClock.Instant
    }

    private let settings: Settings
    private let logger: Logger
    private let epollFD: Int32
    private let wakeFD: Int32
    private let listeners: [(fd: Int32, daemon: OpaquePointer)]
    private let counts: RefusalCounts
    private var thread = pthread_t()
    private var started = false
    // The gate thread's own state.
    private var waiting: [Int32: Waiting] = [:]
    private var waitingPerClient: [[UInt8]: Int] = [:]
    private var pausedListeners: [Int: ContinuousClock.Instant] = [:]
    private var peekBuffer: [UInt8]

    private static let wakeTag: UInt64 = 1 << 40
    private static let listenerTag: UInt64 = 1 << 41

    /// Takes ownership of the listen descriptors (closed when the gate stops).
    init(listeners: [(fd: Int32, daemon: OpaquePointer)], settings: Settings, counts: RefusalCounts, logger: Logger) throws(HTTPServerError) {
        self.settings = settings
        self.logger = logger
        self.listeners = listeners
        self.counts = counts
        self.peekBuffer = [UInt8](repeating: 0, count: settings.limits.headBytes + 1)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .listenFailed(address: "-", operation: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard wakeFD >= 0 else {
            let error = errno
            close(epollFD)
            throw .listenFailed(address: "-", operation: "eventfd", errno: error)
        }
        watch(wakeFD, tag: Self.wakeTag, events: EPOLLIN.rawValue)
        for index in listeners.indices { watch(listeners[index].fd, tag: Self.listenerTag | UInt64(index), events: EPOLLIN.rawValue) }
    }

    /// Starts the gate's thread.
    func start() throws(HTTPServerError) {
        let box = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            let gate = Unmanaged<HTTPGate>.fromOpaque(raw!).takeRetainedValue()
            gate.run()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<HTTPGate>.fromOpaque(box).release()
            throw .listenFailed(address: "-", operation: "pthread_create", errno: status)
        }
        started = true
    }

    /// Stops accepting (the listen sockets are shut down and closed, so new connections are
    /// refused at once), closes the connections still waiting, and joins the thread.
    func stop() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        if started {
            pthread_join(thread, nil)
            started = false
        } else {
            finish()
        }
    }

    // MARK: The loop

    private func run() {
        let clock = ContinuousClock()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var nextSweep = clock.now
        var nextLog = clock.now + settings.logInterval
        loop: while true {
            // Deadlines to keep: every 100 ms while a connection or a paused listener waits on
            // one; otherwise only the next log line, so an idle exporter sleeps.
            let sweeping = !waiting.isEmpty || !pausedListeners.isEmpty
            let timeout = sweeping ? 100 : pollTimeout(until: nextLog)
            let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
            if count < 0 && errno != EINTR { logger.error("epoll_wait failed", metadata: ["errno": "\(errno)"]); break }
            for event in events.prefix(max(0, Int(count))) {
                let tag = event.data.u64
                if tag == Self.wakeTag { break loop }
                if tag & Self.listenerTag != 0 {
                    accept(from: Int(tag & 0xffff))
                } else {
                    examine(Int32(truncatingIfNeeded: tag), hungUp: event.events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0)
                }
            }
            let now = clock.now
            if now >= nextSweep {
                sweep(now: now)
                nextSweep = now + .milliseconds(100)
            }
            if now >= nextLog {
                counts.flush(to: logger, interval: settings.logInterval)
                nextLog = now + settings.logInterval
            }
        }
        finish()
    }

    private func finish() {
        for (fd, _) in waiting { close(fd) }
        waiting = [:]
        waitingPerClient = [:]
        for listener in listeners {
            _ = shutdown(listener.fd, Int32(SHUT_RDWR))
            _ = close(listener.fd)
        }
        close(epollFD)
        close(wakeFD)
        counts.flush(to: logger, interval: settings.logInterval)
    }

    private func watch(_ fd: Int32, tag: UInt64, events: UInt32) {
        var event = epoll_event(events: events, data: epoll_data_t(u64: tag))
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    private func accept(from index: Int) {
        let listener = listeners[index]
        // Level-triggered: what is left for the next round is reported again.
        for _ in 0..<64 {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.accept(listener.fd, $0, &length)
                }
            }
            if fd < 0 {
                switch errno {
                case EAGAIN, EINTR, ECONNABORTED: return
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: stop watching this listener for a moment rather than spin.
                    counts.add("cannot accept connections: \(String(cString: strerror(errno)))")
                    _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listener.fd, nil)
                    pausedListeners[index] = ContinuousClock.now + .milliseconds(250)
                    return
                default: return
                }
            }
            // (accept4 is not visible to Swift; nothing forks between these calls that matters.)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            let client = Self.clientKey(address)
            if waiting.count >= settings.maxWaiting {
                counts.add("refused connections: \(settings.maxWaiting) connections already waiting for their request")
                close(fd)
                continue
            }
            if waitingPerClient[client, default: 0] >= settings.maxWaitingPerClient {
                counts.add("refused connections: \(settings.maxWaitingPerClient) connections from one client address already waiting for their request")
                close(fd)
                continue
            }
            waiting[fd] = Waiting(daemon: listener.daemon, address: address, addressLength: length, client: client,
                                  deadline: ContinuousClock.now + settings.headDeadline)
            waitingPerClient[client, default: 0] += 1
            // Edge-triggered: peeking leaves the bytes queued, so only new bytes should wake us.
            watch(fd, tag: UInt64(fd), events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue)
        }
    }

    /// Peeks at what the connection sent so far and decides: wait, hand over, or answer.
    private func examine(_ fd: Int32, hungUp: Bool) {
        guard waiting[fd] != nil else { return }
        let received = peekBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK)) }
        if received < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            drop(fd)
            return
        }
        if received == 0 {
            drop(fd)  // the client went away before sending a request
            return
        }
        guard settings.judgesHeads else {
            handOver(fd)
            return
        }
        let verdict = peekBuffer.withUnsafeBytes { RequestHead.evaluate(UnsafeRawBufferPointer(rebasing: $0[..<received]), limits: settings.limits) }
        switch verdict {
        case .incomplete:
            if hungUp { answer(fd, RequestHead.Rejection(status: 400, reason: "connection closed before the request head ended"), consume: received) }
        case .accepted:
            handOver(fd)
        case let .rejected(rejection):
            logger.debug("request refused", metadata: ["status": "\(rejection.status)", "reason": "\(rejection.reason)"])
            answer(fd, rejection, consume: received)
        }
    }

    private func sweep(now: ContinuousClock.Instant) {
        for (fd, entry) in waiting where entry.deadline <= now {
            counts.add("closed connections whose request head was not complete within \(settings.headDeadline)", level: .info)
            if settings.judgesHeads {
                answer(fd, RequestHead.Rejection(status: 408, reason: "request head not complete within \(settings.headDeadline)"), consume: 0)
            } else {
                drop(fd)  // a plain-text 408 is no answer to a TLS client
            }
        }
        for (index, until) in pausedListeners where until <= now {
            pausedListeners[index] = nil
            watch(listeners[index].fd, tag: Self.listenerTag | UInt64(index), events: EPOLLIN.rawValue)
        }
    }

    private func forget(_ fd: Int32) -> Waiting? {
        guard let entry = waiting.removeValue(forKey: fd) else { return nil }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        let remaining = waitingPerClient[entry.client, default: 1] - 1
        waitingPerClient[entry.client] = remaining > 0 ? remaining : nil
        return entry
    }

    private func drop(_ fd: Int32) {
        guard forget(fd) != nil else { return }
        close(fd)
    }

    private func handOver(_ fd: Int32) {
        guard let entry = forget(fd) else { return }
        var address = entry.address
        // MHD owns (and closes) the socket from here, whether it takes it or not.
        let added = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MHD_add_connection(entry.daemon, fd, $0, entry.addressLength) }
        }
        if added != .YES {
            counts.add("refused connections: the server is at its connection limit")
        }
    }

    /// Answers `rejection` in plain text and closes. The peeked bytes are read first, so that
    /// closing does not reset the connection (and lose the answer) over unread data.
    private func answer(_ fd: Int32, _ rejection: RequestHead.Rejection, consume: Int) {
        guard forget(fd) != nil else { return }
        if consume > 0 {
            _ = peekBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min(consume, $0.count), Int32(MSG_DONTWAIT)) }
        }
        let response = Self.plainResponse(rejection)
        _ = response.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        _ = shutdown(fd, Int32(SHUT_WR))
        close(fd)
    }

    static func plainResponse(_ rejection: RequestHead.Rejection) -> [UInt8] {
        let body = rejection.reason + "\n"
        let head = "HTTP/1.1 \(rejection.status) \(reasonPhrase(rejection.status))\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        return Array((head + body).utf8)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 431: "Request Header Fields Too Large"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }

    /// The client's address without the port (IPv4-mapped IPv6 counts as IPv4).
    private static func clientKey(_ storage: sockaddr_storage) -> [UInt8] {
        withUnsafeBytes(of: storage) { raw in
            if Int32(storage.ss_family) == AF_INET6 {
                let address = raw.load(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
                return bytes[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] ? Array(bytes[12...]) : bytes
            }
            let address = raw.load(as: sockaddr_in.self)
            return withUnsafeBytes(of: address.sin_addr) { Array($0) }
        }
    }
}

/// Counts of events too frequent to log one by one (refused connections, head timeouts,
/// libmicrohttpd's own complaints), logged as one line per kind with its count per interval.
final class RefusalCounts: Sendable {
    private let counts = Mutex<[String: (count: Int, level: Logger.Level)]>([:])

    func add(_ message: String, level: Logger.Level = .warning) {
        counts.withLock { $0[message, default: (0, level)].count += 1 }
    }

    func flush(to logger: Logger, interval: Duration) {
        let taken = counts.withLock { counts in
            defer { counts = [:] }
            return counts
        }
        for (message, entry) in taken.sorted(by: { $0.key < $1.key }) {
            logger.log(level: entry.level, "\(message)", metadata: ["count": "\(entry.count)", "interval": "\(interval)"])
        }
    }
}
