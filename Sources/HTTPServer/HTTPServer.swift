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
    /// Connections waiting for their request head, and connections being answered, each at
    /// most this many (so together at most twice). 0: half the descriptor limit
    /// (RLIMIT_NOFILE) less a reserve, see `automaticConnectionLimit`.
    public var maxConnections: Int
    /// Connections per client address, waiting and being answered counted apart.
    public var maxConnectionsPerClient: Int
    /// A connection's request head (request line and headers) must be complete this long
    /// after it connects, however slowly it trickles in; otherwise it is answered 408 and
    /// closed. Waiting costs no thread.
    public var requestHeadTimeoutSeconds: Int
    /// A connection being answered that makes no progress this long (a client that stops
    /// reading its response) is closed.
    public var connectionTimeoutSeconds: Int
    /// Memory per connection for the request line, headers and response headers; a request
    /// head must fit in half of it (else 431, or 414 for an overlong request line).
    public var connectionMemoryLimit: Int
    /// zlib level for gzip bodies: 1 (fastest) … 9 (smallest).
    public var gzipLevel: Int
    /// Refused connections, head timeouts and libmicrohttpd's complaints are logged once per
    /// this interval, one line per kind with its count.
    public var logIntervalSeconds: Int
    /// TLS, basic authentication and extra response headers (`--web.config.file`).
    public var security: HTTPSecurity

    public init(listenAddresses: [ListenAddress], inheritedSockets: [Int32] = [], maxConcurrentRequests: Int = 40,
                concurrencyLimitedPaths: Set<String>? = nil,
                maxConnections: Int = 0, maxConnectionsPerClient: Int = 64, requestHeadTimeoutSeconds: Int = 5,
                connectionTimeoutSeconds: Int = 10, connectionMemoryLimit: Int = 32 * 1024, gzipLevel: Int = 1,
                logIntervalSeconds: Int = 10, security: HTTPSecurity = HTTPSecurity()) {
        self.listenAddresses = listenAddresses
        self.inheritedSockets = inheritedSockets
        self.maxConcurrentRequests = maxConcurrentRequests
        self.concurrencyLimitedPaths = concurrencyLimitedPaths
        self.maxConnections = maxConnections
        self.maxConnectionsPerClient = maxConnectionsPerClient
        self.requestHeadTimeoutSeconds = requestHeadTimeoutSeconds
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionMemoryLimit = connectionMemoryLimit
        self.gzipLevel = gzipLevel
        self.logIntervalSeconds = logIntervalSeconds
        self.security = security
    }

    /// Half of the soft RLIMIT_NOFILE less 128 descriptors for everything else (netlink and
    /// probe sockets, files), between 64 and 65,536: waiting and answered connections together
    /// then stay within the limit. 448 under the common default of 1,024.
    public static var automaticConnectionLimit: Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 64 }
        let soft = Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is UInt64.max: clamped
        return min(max(64, (soft - 128) / 2), 65_536)
    }

    var effectiveMaxConnections: Int { maxConnections > 0 ? maxConnections : Self.automaticConnectionLimit }
}

/// An embedded HTTP/1.1 server on libmicrohttpd: an `HTTPGate` thread accepts connections on
/// every listen address and holds each until its request head is complete and checked, then
/// hands it to that address's daemon, which answers it on a thread of its own and closes it.
///
/// The handler answers every request (it decides which methods and paths exist); the server
/// adds gzip when the client accepts it, enforces the concurrency limit with 503, leaves the
/// body out of HEAD responses, and answers malformed, oversized and late requests itself.
/// Every response has a `Content-Type`, `X-Content-Type-Options: nosniff` and
/// `Connection: close` (one request per connection, so every request passes the gate).
public final class HTTPServer: Sendable {
    /// The addresses actually listened on, in the order configured (with the kernel's port
    /// where 0 was asked for).
    public let boundAddresses: [ListenAddress]
    let context: ServerContext
    private let running: Mutex<(gate: HTTPGate, daemons: [Daemon])?>

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
        for socket in sockets {
            guard let daemon = Daemon.start(configuration: configuration, context: context) else {
                for daemon in started { daemon.stop() }
                for socket in sockets { socket.close() }
                throw .daemonStartFailed(address: socket.boundAddress.description)
            }
            started.append(daemon)
        }
        var limits = RequestHead.Limits()
        limits.headBytes = min(limits.headBytes, max(1024, configuration.connectionMemoryLimit / 2))
        let settings = HTTPGate.Settings(
            headDeadline: .seconds(max(1, configuration.requestHeadTimeoutSeconds)),
            maxWaiting: configuration.effectiveMaxConnections,
            maxWaitingPerClient: max(1, configuration.maxConnectionsPerClient),
            limits: limits, logInterval: .seconds(max(1, configuration.logIntervalSeconds)),
            judgesHeads: configuration.security.tls == nil)
        let gate: HTTPGate
        do {
            gate = try HTTPGate(listeners: zip(sockets, started).map { ($0.fd, $1.handle) }, settings: settings,
                                counts: context.counts, logger: logger)
        } catch {
            for daemon in started { daemon.stop() }
            for socket in sockets { socket.close() }
            throw error
        }
        do {
            try gate.start()
        } catch {
            gate.stop()  // not started: closes the listen sockets and its own descriptors
            for daemon in started { daemon.stop() }
            throw error
        }
        for socket in sockets { logger.info("listening", metadata: ["address": "\(socket.boundAddress)"]) }
        self.context = context
        self.boundAddresses = sockets.map(\.boundAddress)
        self.running = Mutex((gate, started))
    }

    /// Stops gracefully: stops accepting and closes the listen sockets, waits up to
    /// `gracePeriod` for requests in progress to be answered, then closes every connection
    /// and joins the server's threads. Idempotent; deinit does it too.
    public func stop(gracePeriod: Duration = .seconds(5)) {
        let running = self.running.withLock { running in
            defer { running = nil }
            return running
        }
        guard let (gate, daemons) = running else { return }
        gate.stop()
        let clock = ContinuousClock()
        let deadline = clock.now + gracePeriod
        while context.activeRequests.load(ordering: .acquiring) > 0 && clock.now < deadline {
            usleep(5_000)
        }
        for daemon in daemons { daemon.stop() }
    }

    deinit { stop() }
}

/// One MHD_Daemon, fed connections by the gate (it has no listen socket of its own).
struct Daemon: @unchecked Sendable {
    /// `struct MHD_Daemon *`, used only under the server's lock or after taking it out.
    let handle: OpaquePointer

    /// MHD_start_daemon_va (MHD_start_daemon is variadic) with the options as MHD_OPTION_ARRAY.
    static func start(configuration: HTTPServerConfiguration, context: ServerContext) -> Daemon? {
        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        let logger: MHD_LogCallback = logLibraryMessage
        let completed: MHD_RequestCompletedCallback = requestCompleted
        // The logger first: libmicrohttpd warns when any option precedes it.
        var options: [MHD_OptionItem] = [
            MHD_OptionItem(option: MHD_OPTION.EXTERNAL_LOGGER, value: unsafeBitCast(logger, to: Int.self), ptr_value: contextPointer),
            MHD_OptionItem(option: MHD_OPTION.NOTIFY_COMPLETED, value: unsafeBitCast(completed, to: Int.self), ptr_value: contextPointer),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_LIMIT, value: max(1, configuration.effectiveMaxConnections), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.PER_IP_CONNECTION_LIMIT, value: max(1, configuration.maxConnectionsPerClient), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_TIMEOUT, value: max(1, configuration.connectionTimeoutSeconds), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_MEMORY_LIMIT, value: max(4096, configuration.connectionMemoryLimit), ptr_value: nil),
        ]
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_THREAD_PER_CONNECTION.rawValue
            | MHD_USE_POLL.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue | MHD_USE_NO_LISTEN_SOCKET.rawValue
        // TLS: the flag and options from TLSDaemonOptions, whose strings outlive the start call.
        let tls = context.security.tls.map { TLSDaemonOptions(store: $0, context: contextPointer) }
        defer { tls?.release() }
        if let tls {
            options += tls.items
            flags |= MHD_USE_TLS.rawValue
        }
        options.append(MHD_OptionItem(option: MHD_OPTION.END, value: 0, ptr_value: nil))
        let handle = options.withUnsafeMutableBufferPointer { items in
            withVaList([Int32(MHD_OPTION.ARRAY.rawValue), items.baseAddress!, Int32(MHD_OPTION.END.rawValue)]) { arguments in
                MHD_start_daemon_va(flags, 0, nil, nil, handleRequest, contextPointer, arguments)
            }
        }
        return handle.map(Daemon.init(handle:))
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
    /// Refusals and complaints logged once per interval (shared with the gate).
    let counts = RefusalCounts()
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
