import Logging
import Metrics
import Synchronization
import SystemPackage

/// The probes of `portpressure serve`: the configuration file, its reloads, the scheduler
/// and the metrics.
///
/// A reload that fails leaves the running probes as they are and reports
/// `portpressure_config_last_reload_successful 0` until a load succeeds.
public final class ProbeService: Sendable {
    public let configFile: String
    private let scheduler: ProbeScheduler
    private let logger: Logger
    /// Serializes reloads (SIGHUP and `POST /-/reload` may arrive together) and holds the status.
    private let reloadState: Mutex<ReloadStatus>

    /// Loads `configFile` and prepares its probes; `start()` starts them.
    /// - Throws: the configuration's first error (`serve` exits 2 on it).
    public init(configFile: String, runner: ProbeRunner = ProbeRunner(), concurrency: Int = 8,
                logger: Logger) throws(ProbeConfigError) {
        let config = try ProbeConfig.load(file: configFile)
        self.configFile = configFile
        self.logger = logger
        self.reloadState = Mutex(ReloadStatus(successful: true, lastSuccess: wallClockSeconds()))
        scheduler = ProbeScheduler(concurrency: concurrency, runner: runner) { result, previous in
            Self.log(result, previous: previous, logger: logger)
        }
        scheduler.replace(config.probes)
        logger.info("probes loaded", metadata: ["file": "\(configFile)", "probes": "\(config.probes.count)"])
    }

    /// Starts the worker threads: call it from the thread whose signal mask (and network
    /// namespace) they should have.
    public func start() throws(Errno) {
        try scheduler.start()
    }

    /// Loads the file again and swaps the probes; on an error keeps the running ones.
    @discardableResult
    public func reload() -> Result<ProbeConfig, ProbeConfigError> {
        reloadState.withLock { status in
            do throws(ProbeConfigError) {
                let config = try ProbeConfig.load(file: configFile)
                scheduler.replace(config.probes)
                status = ReloadStatus(successful: true, lastSuccess: wallClockSeconds())
                logger.info("probes reloaded", metadata: ["file": "\(configFile)", "probes": "\(config.probes.count)"])
                return .success(config)
            } catch {
                status.successful = false
                logger.error("reloading the probes failed; the previous ones keep running",
                             metadata: ["file": "\(configFile)", "err": "\(error)"])
                return .failure(error)
            }
        }
    }

    /// Stops the probes, waiting for runs in progress (each bounded by its timeout).
    public func stop() {
        scheduler.stop()
    }

    public var reloadStatus: ReloadStatus { reloadState.withLock { $0 } }

    /// The probes and their counters, in configuration order.
    public func statuses() -> [ProbeStatus] { scheduler.statuses() }

    /// Every probe family, the reload status included.
    public func metricFamilies() -> [MetricFamily] {
        ProbeMetrics.families(scheduler.statuses(), reload: reloadStatus)
    }

    /// A failure when a probe starts failing or changes reason, a recovery, and every run at debug.
    private static func log(_ result: ProbeResult, previous: ProbeResult?, logger: Logger) {
        var metadata: Logger.Metadata = [
            "probe": "\(result.probe)",
            "duration_seconds": "\(ProbeDuration.seconds(result.duration))",
        ]
        if let local = result.local { metadata["local"] = "\(local)" }
        if let remote = result.remote { metadata["remote"] = "\(remote)" }
        if let reason = result.failure {
            metadata["reason"] = "\(reason)"
            metadata["err"] = "\(result.detail)"
            if previous?.failure != reason {
                logger.warning("probe failed", metadata: metadata)
                return
            }
        } else if let previous, previous.failure != nil {
            logger.info("probe recovered", metadata: metadata)
            return
        }
        logger.debug("probe ran", metadata: metadata)
    }
}
