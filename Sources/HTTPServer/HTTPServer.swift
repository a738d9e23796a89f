import CMicroHTTPD
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Limits and listen addresses of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable {
    /// One daemon per address; `:port` is one dual-stack socket.
    public var listenAddresses: [ListenAddress]
    /// Listening TCP sockets opened by someone else (systemd socket activation, see
    /// `SystemdSockets`): one daemon each, besides those of `listenAddresses`.
    public var inheritedSockets: [Int32]
    /// Requests handled at once across all addresses; a request over the limit is answered
    /// 503 at once instead of waiting. 0: no limit. (`--web.max-requests`)
    public var maxConcurrentRequests: Int
    /// The paths the concurrency limit applies to (the telemetry path, so that `/-/healthy`
    /// still answers while scrapes pile up); nil: every path.
    public var concurrencyLimitedPaths: Set<String>?
    /// Open connections per address; libmicrohttpd closes connections beyond it on accept.
    /// Keep it well above `maxConcurrentRequests` so that excess requests get their 503.
    public var maxConnections: Int
    /// A connection idle this long (a client that connects and sends nothing, or stalls)
    /// is closed. Each connection has its own thread, so a silent client never delays others.
    public var connectionTimeoutSeconds: Int
    /// Memory per connection for the request line, headers and response headers; a request
    /// whose header does not fit is answered 431 (or 414 for an overlong request line).
    public var connectionMemoryLimit: Int
    /// zlib level for gzip bodies: 1 (fastest) … 9 (smallest).
    public var gzipLevel: Int
    /// TLS, basic authentication and extra response headers (`--web.config.file`).
    public var security: HTTPSecurity

    public init(listenAddresses: [ListenAddress], inheritedSockets: [Int32] = [], maxConcurrentRequests: Int = 40, concurrencyLimitedPaths: Set<String>? = nil,
                maxConnections: Int = 512, connectionTimeoutSeconds: Int = 10, connectionMemoryLimit: Int = 32 * 1024,
                gzipLevel: Int = 1, security: HTTPSecurity = HTTPSecurity()) {
        self.listenAddresses = listenAddresses
        self.inheritedSockets = inheritedSockets
        self.maxConcurrentRequests = maxConcurrentRequests
        self.concurrencyLimitedPaths = concurrencyLimitedPaths
        self.maxConnections = maxConnections
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionMemoryLimit = connectionMemoryLimit
        self.gzipLevel = gzipLevel
        self.security = security
    }
}

/// An embedded HTTP/1.1 server on libmicrohttpd: one daemon per listen address, each with an
/// internal polling thread and a thread per connection.
///
/// The handler answers every request (it decides which methods and paths exist); the server
/// adds gzip when the client accepts it, enforces the concurrency limit with 503, leaves the
/// body out of HEAD responses, and answers oversized headers itself.
public final class HTTPServer: Sendable {
    /// The addresses actually listened on, in the order configured (with the kernel's port
    /// where 0 was asked for).
    public let boundAddresses: [ListenAddress]
    let context: ServerContext
    private let daemons: Mutex<[Daemon]>

    /// Binds every address, then starts a daemon on each. Nothing is left listening when it throws.
    public init(configuration: HTTPServerConfiguration, logger: Logger = Logger(label: "portpressure.http"),
                handler: @escaping HTTPHandler) throws(HTTPServerError) {
        let context = ServerContext(handler: handler, logger: logger,
                                    maxConcurrentRequests: configuration.maxConcurrentRequests,
                                    concurrencyLimitedPaths: configuration.concurrencyLimitedPaths,
                                    gzipLevel: Int32(clamping: configuration.gzipLevel),
                                    security: try SecurityContext(configuration.security, logger: logger))
        // Bind all first: an address in use must fail the start before anything serves.
        var sockets: [ListenSocket] = []
        do {
            for address in configuration.listenAddresses {
                sockets.append(try ListenSocket.open(address))
            }
            for fd in configuration.inheritedSockets {
                sockets.append(try ListenSocket.adopt(fd))
            }
        } catch {
            for socket in sockets { socket.close() }
            throw error
        }

        var started: [Daemon] = []
        for (index, socket) in sockets.enumerated() {
            guard let daemon = Daemon.start(socket: socket, configuration: configuration, context: context) else {
                for daemon in started {
                    daemon.quiesce()
                    daemon.stop()
                }
                // The failed daemon's socket is left alone: libmicrohttpd may have closed it
                // on its failure path, and closing twice could hit a descriptor reused since.
                for socket in sockets[(index + 1)...] { socket.close() }
                throw .daemonStartFailed(address: socket.boundAddress.description)
            }
            started.append(daemon)
            logger.info("listening", metadata: ["address": "\(socket.boundAddress)"])
        }
        self.context = context
        self.boundAddresses = sockets.map(\.boundAddress)
        self.daemons = Mutex(started)
    }

    /// Stops gracefully: stops accepting and closes the listen sockets, waits up to
    /// `gracePeriod` for requests in progress to be answered, then closes every connection
    /// and joins the server's threads. Idempotent; deinit does it too.
    public func stop(gracePeriod: Duration = .seconds(5)) {
        let daemons = self.daemons.withLock { daemons in
            defer { daemons = [] }
            return daemons
        }
        guard !daemons.isEmpty else { return }
        for daemon in daemons { daemon.quiesce() }
        let clock = ContinuousClock()
        let deadline = clock.now + gracePeriod
        while context.activeRequests.load(ordering: .acquiring) > 0 && clock.now < deadline {
            usleep(5_000)
        }
        for daemon in daemons { daemon.stop() }
    }

    deinit { stop() }
}

/// One MHD_Daemon on one listen socket.
struct Daemon: @unchecked Sendable {
    /// `struct MHD_Daemon *`, used only under the server's lock or after taking it out.
    let handle: OpaquePointer

    /// MHD_start_daemon_va (MHD_start_daemon is variadic) with the options as MHD_OPTION_ARRAY.
    static func start(socket: ListenSocket, configuration: HTTPServerConfiguration, context: ServerContext) -> Daemon? {
        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        let logger: MHD_LogCallback = logLibraryMessage
        let completed: MHD_RequestCompletedCallback = requestCompleted
        // The logger first: libmicrohttpd warns when any option precedes it.
        var options: [MHD_OptionItem] = [
            MHD_OptionItem(option: MHD_OPTION.EXTERNAL_LOGGER, value: unsafeBitCast(logger, to: Int.self), ptr_value: contextPointer),
            MHD_OptionItem(option: MHD_OPTION.NOTIFY_COMPLETED, value: unsafeBitCast(completed, to: Int.self), ptr_value: contextPointer),
            MHD_OptionItem(option: MHD_OPTION.LISTEN_SOCKET, value: Int(socket.fd), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_LIMIT, value: max(1, configuration.maxConnections), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_TIMEOUT, value: max(1, configuration.connectionTimeoutSeconds), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_MEMORY_LIMIT, value: max(4096, configuration.connectionMemoryLimit), ptr_value: nil),
        ]
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_THREAD_PER_CONNECTION.rawValue
            | MHD_USE_POLL.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
        // TLS: the flag and options from TLSDaemonOptions, whose strings outlive the start call.
        let tls = context.security.tls.map { TLSDaemonOptions(store: $0, context: contextPointer) }
        defer { tls?.release() }
        if let tls {
            options += tls.items
            flags |= MHD_USE_TLS.rawValue
        }
        options.append(MHD_OptionItem(option: MHD_OPTION.END, value: 0, ptr_value: nil))
        if socket.boundAddress.host?.contains(":") ?? true {
            flags |= MHD_USE_IPv6.rawValue
        }
        let handle = options.withUnsafeMutableBufferPointer { items in
            withVaList([Int32(MHD_OPTION.ARRAY.rawValue), items.baseAddress!, Int32(MHD_OPTION.END.rawValue)]) { arguments in
                MHD_start_daemon_va(flags, 0, nil, nil, handleRequest, contextPointer, arguments)
            }
        }
        return handle.map(Daemon.init(handle:))
    }

    /// MHD_quiesce_daemon: stop accepting, and shut down and close the listen socket it hands
    /// back so that new connections are refused rather than left in the backlog.
    func quiesce() {
        let listenFD = MHD_quiesce_daemon(handle)
        guard listenFD >= 0 else { return }
        // The polling thread may still hold the socket in poll(2); shutdown(2) stops the
        // listening at once (pending and new connection attempts are refused) where close
        // alone would wait for that reference to go.
        _ = shutdown(listenFD, Int32(SHUT_RDWR))
        _ = close(listenFD)
    }

    /// MHD_stop_daemon: close every connection and join the daemon's threads.
    func stop() {
        MHD_stop_daemon(handle)
    }
}

/// What the C callbacks reach through their `void *cls`: the handler and the limits.
final class ServerContext: Sendable {
    let handler: HTTPHandler
    let logger: Logger
    let maxConcurrentRequests: Int
    let concurrencyLimitedPaths: Set<String>?
    let gzipLevel: Int32
    let security: SecurityContext
    /// Requests inside the handler on limited paths (for the concurrency limit).
    let inFlight = Atomic<Int>(0)
    /// Requests from the handler's first call until libmicrohttpd reports them complete
    /// (response sent or connection failed): what a graceful stop waits for.
    let activeRequests = Atomic<Int>(0)

    init(handler: @escaping HTTPHandler, logger: Logger, maxConcurrentRequests: Int, concurrencyLimitedPaths: Set<String>?,
         gzipLevel: Int32, security: SecurityContext) {
        self.handler = handler
        self.logger = logger
        self.maxConcurrentRequests = maxConcurrentRequests
        self.concurrencyLimitedPaths = concurrencyLimitedPaths
        self.gzipLevel = gzipLevel
        self.security = security
    }
}
