import ArgumentParser
import Exporter
import HTTPServer
import Logging
import NetworkNamespaces
import PortPressure
import Probes
import SockDiag
import Snapshotting
import WebConfig
#if canImport(Glibc)
import Glibc
#endif

/// `portpressure serve`: the Prometheus exporter.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve port-pressure metrics for Prometheus.",
        discussion: """
            Collection happens at scrape time: one SOCK_DIAG dump per scrape, shared by concurrent \
            scrapes. Collectors: \(CollectorRegistry.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")). \
            SIGTERM or SIGINT stops it; SIGHUP reloads --config.file.
            """,
        version: BuildInfo.versionText
    )

    @Option(name: .customLong("web.listen-address"),
            help: ArgumentHelp("Address to listen on: :PORT, HOST:PORT or [IPV6]:PORT; repeatable. (default: :10123)", valueName: "address"))
    var listenAddresses: [String] = []

    @Flag(name: .customLong("web.systemd-socket"),
          help: "Use systemd socket activation listeners (LISTEN_FDS) instead of --web.listen-address.")
    var systemdSocket = false

    @Option(name: .customLong("web.telemetry-path"), help: ArgumentHelp("Path under which to expose metrics.", valueName: "path"))
    var telemetryPath = "/metrics"

    @Option(name: .customLong("web.config.file"),
            help: ArgumentHelp("Web configuration file (exporter-toolkit format) enabling TLS and basic authentication; certificate files are re-read when they change.",
                               valueName: "file"))
    var webConfigFile: String?

    @Option(name: .customLong("web.max-requests"),
            help: ArgumentHelp("Maximum number of scrapes served at once; more are answered 503. 0 means no limit.", valueName: "n"))
    var maxRequests = 40

    @Flag(name: .customLong("web.disable-exporter-metrics"),
          help: "Leave out the exporter's own metrics (process_*, portpressure_build_info, dump retries).")
    var disableExporterMetrics = false

    @Flag(name: .customLong("collector.range"), inversion: .prefixedNo, help: "Enable the range collector.")
    var rangeCollector = true
    @Flag(name: .customLong("collector.sockets"), inversion: .prefixedNo, help: "Enable the sockets collector.")
    var socketsCollector = true
    @Flag(name: .customLong("collector.udp"), inversion: .prefixedNo, help: "Enable the udp (duplicate 4-tuples) collector.")
    var udpCollector = true
    @Flag(name: .customLong("collector.kernel"), inversion: .prefixedNo, help: "Enable the kernel settings collector.")
    var kernelCollector = true
    @Flag(name: .customLong("collector.probes"), inversion: .prefixedNo, help: "Enable the probes collector (runs the probes of --config.file).")
    var probesCollector = true
    @Flag(name: .customLong("collector.netns"),
          help: "Every network namespace of the host (containers, pods, ip netns), not only our own. Needs CAP_SYS_ADMIN and CAP_SYS_PTRACE (root, or hostPID plus both capabilities).")
    var namespacesCollector = false
    @Option(name: .customLong("collector.netns.max"),
            help: ArgumentHelp("With --collector.netns: namespaces exported in full, highest pressure first (their number is always exported). 0 means no limit.", valueName: "n"))
    var namespacesMaximum = 0

    @Option(name: .customLong("collector.sockets.top-destinations"),
            help: ArgumentHelp("Destinations exported per local address (the exact maximum is always exported).", valueName: "n"))
    var topDestinations = 10
    @Option(name: .customLong("collector.sockets.top-owners"), help: ArgumentHelp("Owners (uid, cgroup) exported.", valueName: "n"))
    var topOwners = 10
    @Option(name: .customLong("collector.udp.top-duplicates"),
            help: ArgumentHelp("Duplicate UDP 4-tuples exported (and asked which socket receives).", valueName: "n"))
    var topDuplicates = 20

    @Option(name: .customLong("config.file"),
            help: ArgumentHelp("Probes file (YAML): active probes run on their own schedule; SIGHUP or POST /-/reload reloads it.", valueName: "file"))
    var configFile: String?

    @Flag(name: .customLong("config.check"),
          help: "Check the configuration (--config.file) and exit without serving: 0 when valid, 2 with the error otherwise.")
    var configCheck = false

    @Option(name: .customLong("log.level"), help: ArgumentHelp("Only log messages with this severity or above: debug, info, warn, error.", valueName: "level"))
    var logLevel: LogLevelOption = .info
    @Option(name: .customLong("log.format"), help: ArgumentHelp("Log format: logfmt or json.", valueName: "format"))
    var logFormat: LogFormatOption = .logfmt

    func validate() throws {
        guard telemetryPath.hasPrefix("/"), telemetryPath != "/", !telemetryPath.hasPrefix("/-/") else {
            throw ValidationError("--web.telemetry-path must start with / and not be / or under /-/, got \(telemetryPath.debugDescription)")
        }
        guard !(systemdSocket && !listenAddresses.isEmpty) else {
            throw ValidationError("--web.systemd-socket listens where systemd's socket unit says: leave out --web.listen-address")
        }
        guard maxRequests >= 0 else { throw ValidationError("--web.max-requests must be 0 or more, got \(maxRequests)") }
        for (flag, value) in [("--collector.sockets.top-destinations", topDestinations), ("--collector.sockets.top-owners", topOwners),
                              ("--collector.udp.top-duplicates", topDuplicates)] where !(0...10_000).contains(value) {
            throw ValidationError("\(flag) must be between 0 and 10000, got \(value)")
        }
        guard namespacesMaximum >= 0 else { throw ValidationError("--collector.netns.max must be 0 or more, got \(namespacesMaximum)") }
    }

    func run() throws {
        if configCheck { try checkConfiguration() }
        let logger = makeLogger(level: logLevel.level, format: logFormat.format)
        if namespacesCollector {
            do { try NamespacePrivileges.check() } catch {
                logger.error("--collector.netns cannot run", metadata: ["err": "\(error)"])
                throw ExitCode(1)
            }
        }
        // An invalid listen address fails the start like one in use: exit 1 with a clear error.
        var addresses: [ListenAddress] = []
        var inheritedSockets: [Int32] = []
        if systemdSocket {
            do { inheritedSockets = try SystemdSockets.fromEnvironment() } catch {
                logger.error("cannot start the HTTP server", metadata: ["err": "\(error)"])
                throw ExitCode(1)
            }
        }
        for text in systemdSocket ? [] : listenAddresses.isEmpty ? [":10123"] : listenAddresses {
            do { addresses.append(try ListenAddress(parsing: text)) } catch {
                logger.error("cannot start the HTTP server", metadata: ["err": "\(error)"])
                throw ExitCode(1)
            }
        }
        // Like a bad probes file, a bad web configuration is a usage error: exit 2, before listening.
        var security = HTTPSecurity()
        if let webConfigFile {
            do {
                let validated = try WebConfig.validate(file: webConfigFile)
                security = validated.security
                logWebConfig(validated.config, file: webConfigFile, logger: logger)
            } catch {
                logger.error("invalid web configuration file", metadata: ["err": "\(error)"])
                throw ExitCode(2)
            }
        }
        // Block the stop and reload signals before any thread starts, so every thread inherits
        // the mask and only the sigwait below sees them.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let client: SockDiagClient
        do { client = try SockDiagClient() } catch {
            logger.error("cannot open the SOCK_DIAG netlink socket", metadata: ["err": "\(error)"])
            throw ExitCode(1)
        }
        var probes: ProbeService?
        if let configFile, probesCollector {
            do { probes = try ProbeService(configFile: configFile, logger: logger) } catch {
                logger.error("invalid probes file", metadata: ["err": "\(error)"])
                throw ExitCode(2)
            }
        }
        let enabled = ["range": rangeCollector, "sockets": socketsCollector, "udp": udpCollector, "kernel": kernelCollector,
                       "probes": probesCollector]
        let collectors = CollectorRegistry.enabled(disabled: Set(enabled.filter { !$0.value }.keys), probes: probes,
                                                   namespaces: namespacesCollector)
        // The namespace of the thread that made `client` (this one): the label of the own mode.
        let own = NamespaceScanner.identify("/proc/thread-self/ns/net")?.description ?? ""
        let mode: NamespaceMode = namespacesCollector
            ? .all(NamespacesSnapshotter(), maximum: namespacesMaximum == 0 ? nil : namespacesMaximum)
            : .own(netns: own)
        let exporter = PortPressureExporter(
            configuration: .init(
                collectors: collectors,
                analysis: AnalysisOptions(topDestinationsPerSource: topDestinations, topDestinations: topDestinations,
                                          topOwners: topOwners, topUDPDuplicates: topDuplicates),
                exporterMetrics: !disableExporterMetrics, version: BuildInfo.version, revision: BuildInfo.revision,
                branch: BuildInfo.branch, buildDate: BuildInfo.buildDate, swiftVersion: BuildInfo.swiftVersion,
                namespaces: mode
            ),
            source: HostSnapshotter(client: client),
            logger: logger
        )
        var reload: (@Sendable () -> Result<Void, Routes.Failure>)?
        if let probes {
            reload = { probes.reload().map { _ in () }.mapError { Routes.Failure("\($0)") } }
        }
        let routes = Routes(exporter: exporter, telemetryPath: telemetryPath, reload: reload)
        let server: HTTPServer
        do {
            server = try HTTPServer(
                configuration: HTTPServerConfiguration(listenAddresses: addresses, inheritedSockets: inheritedSockets,
                                                       maxConcurrentRequests: maxRequests,
                                                       concurrencyLimitedPaths: routes.collectingPaths, security: security),
                logger: logger, handler: { routes.handle($0) }
            )
        } catch {
            logger.error("cannot start the HTTP server", metadata: ["err": "\(error)"])
            throw ExitCode(1)
        }
        do { try probes?.start() } catch {
            logger.error("cannot start the probe threads", metadata: ["err": "\(error)"])
            server.stop()
            throw ExitCode(1)
        }
        logger.info("portpressure serve started", metadata: [
            "version": "\(BuildInfo.version)",
            "revision": "\(BuildInfo.revision)",
            "collectors": "\(exporter.collectorNames.joined(separator: ","))",
            "telemetry_path": "\(telemetryPath)",
        ])

        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            if received == SIGHUP {
                if let probes { probes.reload() } else { logger.info("SIGHUP received: nothing to reload (no --config.file)") }
                continue
            }
            logger.info("stopping", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
            server.stop()
            probes?.stop()
            logger.info("stopped")
            return
        }
    }
}

/// What the web configuration turned on, as exporter-toolkit logs it.
private func logWebConfig(_ config: WebConfig, file: String, logger: Logger) {
    logger.info(config.tls == nil ? "TLS is disabled" : "TLS is enabled", metadata: [
        "file": "\(file)",
        "basic_auth_users": "\(config.users.count)",
        "client_auth_type": "\(config.tls?.clientAuth.rawValue ?? "-")",
    ])
    if config.tls != nil {
        logger.info("http_server_config.http2 is ignored: libmicrohttpd serves HTTP/1.1 only", metadata: ["http2": "\(config.http2)"])
    }
}

extension ServeCommand {
    /// `--config.check`: loads every configuration file `serve` would load, the way it would,
    /// then exits 0 (each file named on stdout) or 2 (the first error on stderr), serving nothing.
    func checkConfiguration() throws -> Never {
        var checked: [String] = []
        if let configFile {
            do { checked.append("\(configFile) (probes: \(try ProbeConfig.load(file: configFile).probes.count))") } catch {
                Console.errorLine("portpressure: invalid configuration: \(error)")
                throw ExitCode(2)
            }
        }
        if let webConfigFile {
            do {
                let validated = try WebConfig.validate(file: webConfigFile)
                checked.append("\(webConfigFile) (web: TLS \(validated.config.tls == nil ? "off" : "on"), \(validated.config.users.count) basic auth users)")
            } catch {
                Console.errorLine("portpressure: invalid web configuration: \(error)")
                throw ExitCode(2)
            }
        }
        print(checked.isEmpty ? "configuration OK: no configuration file given" : "configuration OK: \(checked.joined(separator: "; "))")
        throw ExitCode.success
    }
}

enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case debug, info, warn, error
    var level: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }
}

enum LogFormatOption: String, ExpressibleByArgument, CaseIterable {
    case logfmt, json
    var format: StructuredLogHandler.Format { self == .json ? .json : .logfmt }
}

/// The process's logger; swift-log's global bootstrap, once.
func makeLogger(level: Logger.Level, format: StructuredLogHandler.Format) -> Logger {
    LoggingSystem.bootstrap { label in
        StructuredLogHandler(label: label, level: level, format: format) { line in Console.write(line, to: .standardError) }
    }
    var logger = Logger(label: "portpressure")
    logger.logLevel = level
    return logger
}
