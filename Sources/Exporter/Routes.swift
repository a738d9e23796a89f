import HTTPServer
import Metrics

/// The exporter's HTTP surface: the telemetry path, the landing page, health, readiness, and reload.
///
/// Pure request → response logic over `PortPressureExporter`, so it is tested without sockets.
public struct Routes: Sendable {
    public let exporter: PortPressureExporter
    public let telemetryPath: String
    /// Called for `POST /-/reload`; nil when there is nothing to reload (no config file).
    public let reload: (@Sendable () -> Result<Void, Failure>)?

    /// Why a reload or a request's collector selection failed, in words for the response body.
    public struct Failure: Error, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    public init(exporter: PortPressureExporter, telemetryPath: String = "/metrics",
                reload: (@Sendable () -> Result<Void, Failure>)? = nil) {
        self.exporter = exporter
        self.telemetryPath = telemetryPath
        self.reload = reload
    }

    /// The paths whose answer runs a collection (a full socket dump): the HTTP server holds
    /// them to `--web.max-requests`, so the landing page cannot be used to get around it.
    public var collectingPaths: Set<String> { [telemetryPath, "/"] }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case telemetryPath:
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed("GET, HEAD") }
            return metrics(request)
        case "/":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed("GET, HEAD") }
            return landingPage()
        case "/-/healthy":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed("GET, HEAD") }
            return .text(200, "Healthy\n")
        case "/-/ready":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed("GET, HEAD") }
            return exporter.becomeReady()
                ? .text(200, "Ready\n")
                : .text(503, "Not ready: no collection of every collector has succeeded yet (the log says why)\n")
        case "/-/reload":
            guard request.method == "POST" || request.method == "PUT" else { return methodNotAllowed("POST, PUT") }
            guard let reload else { return .text(400, "nothing to reload: portpressure serve was started without --config.file\n") }
            switch reload() {
            case .success: return .text(200, "reloaded\n")
            case let .failure(error): return .text(500, "reload failed, the previous configuration stays in force: \(error.message)\n")
            }
        default:
            return .text(404, "404 page not found\n")
        }
    }

    /// The collectors a request selects: `collect[]` (default: every enabled collector) minus
    /// `exclude[]`; an unknown or disabled name is an error.
    public func selection(_ request: HTTPRequest) -> Result<Set<String>, Failure> {
        CollectorSelection.resolve(collect: request.queryValues("collect[]"), exclude: request.queryValues("exclude[]"),
                                   enabled: exporter.collectorNames).mapError { Failure($0.message) }
    }

    private func metrics(_ request: HTTPRequest) -> HTTPResponse {
        let selected: Set<String>
        switch selection(request) {
        case let .success(names): selected = names
        case let .failure(error): return .text(400, error.message + "\n")
        }
        let format = ExpositionFormat.negotiate(accept: request.header("Accept"))
        let result = exporter.scrape(selected)
        let body = exporter.exposition(result, selection: selected, format: format)
        return HTTPResponse(status: 200, headers: [HTTPHeader(name: "Content-Type", value: format.contentType)], body: body)
    }

    private func landingPage() -> HTTPResponse {
        let wanted = Set(["range", "sockets"]).intersection(exporter.collectorNames)
        let result = wanted.isEmpty ? nil : exporter.scrape(wanted)
        let html = LandingPage(version: exporter.configuration.version, telemetryPath: telemetryPath,
                               collectors: exporter.collectorNames, result: result).render()
        return HTTPResponse(status: 200, headers: [HTTPHeader(name: "Content-Type", value: "text/html; charset=utf-8")],
                            body: Array(html.utf8))
    }

    private func methodNotAllowed(_ allow: String) -> HTTPResponse {
        .text(405, "405 method not allowed\n", headers: [HTTPHeader(name: "Allow", value: allow)])
    }
}
