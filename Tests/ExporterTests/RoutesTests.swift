import Exporter
import HTTPServer
import Testing

@Suite struct RoutesTests {
    let routes = Routes(exporter: Fixture.exporter())

    func get(_ path: String, query: [(String, String)] = [], headers: [(String, String)] = [], method: String = "GET") -> HTTPResponse {
        routes.handle(HTTPRequest(method: method, path: path, queryItems: query.map { QueryItem(name: $0.0, value: $0.1) },
                                  headers: headers.map { HTTPHeader(name: $0.0, value: $0.1) }))
    }

    func body(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func metricsDefaultsToTextFormat() {
        let response = get("/metrics")
        #expect(response.status == 200)
        #expect(response.headers.first { $0.name == "Content-Type" }?.value == "text/plain; version=0.0.4; charset=utf-8")
        #expect(body(response).contains("portpressure_ephemeral_ports_limit{netns=\"4026531840\"} 91\n"))
        #expect(body(response).contains(#"portpressure_scrape_collector_success{collector="sockets"} 1"#))
        #expect(!body(response).contains("# EOF"))
    }

    @Test func openMetricsWhenPreferred() {
        let response = get("/metrics", headers: [("Accept", "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;q=0.5")])
        #expect(response.headers.first { $0.name == "Content-Type" }?.value.hasPrefix("application/openmetrics-text") == true)
        #expect(body(response).hasSuffix("# EOF\n"))
    }

    @Test func collectAndExcludeSelectCollectors() {
        let only = body(get("/metrics", query: [("collect[]", "range")]))
        #expect(only.contains("portpressure_ephemeral_ports_limit"))
        #expect(!only.contains("portpressure_sockets{"))
        #expect(!only.contains(#"collector="sockets""#))
        let without = body(get("/metrics", query: [("exclude[]", "udp")]))
        #expect(without.contains("portpressure_sockets{"))
        #expect(!without.contains("portpressure_udp_duplicate_tuples"))
    }

    @Test func unknownCollectorIsBadRequest() {
        let response = get("/metrics", query: [("collect[]", "nope")])
        #expect(response.status == 400)
        #expect(body(response).contains("\"nope\""))
    }

    @Test func methodsAndPaths() {
        #expect(get("/nope").status == 404)
        let post = get("/metrics", method: "POST")
        #expect(post.status == 405)
        #expect(post.headers.contains { $0.name == "Allow" && $0.value == "GET, HEAD" })
        #expect(get("/metrics", method: "HEAD").status == 200)
        #expect(get("/-/healthy").status == 200)
        #expect(get("/-/reload", method: "POST").status == 400)  // no config file
        #expect(get("/-/reload").status == 405)
    }

    @Test("/-/ready: 503 until a collection of every collector succeeds, then 200 for good")
    func readyAfterTheFirstSuccessfulCollection() {
        let source = RecoveringSource()
        let routes = Routes(exporter: Fixture.exporter(source: source))
        let before = routes.handle(HTTPRequest(method: "GET", path: "/-/ready"))
        #expect(before.status == 503)
        #expect(String(decoding: before.body, as: UTF8.self).contains("Not ready"))
        // A scrape of some collectors only proves nothing about the others.
        source.recover()
        _ = routes.handle(HTTPRequest(method: "GET", path: "/metrics", queryItems: [QueryItem(name: "collect[]", value: "range")]))
        #expect(routes.handle(HTTPRequest(method: "GET", path: "/-/ready")).status == 200)
        #expect(routes.handle(HTTPRequest(method: "HEAD", path: "/-/ready")).status == 200)
        #expect(routes.handle(HTTPRequest(method: "POST", path: "/-/ready")).status == 405)
        // Ready for good: a later failure is the collector-success metric's business, not readiness'.
        source.fail()
        let metrics = String(decoding: routes.handle(HTTPRequest(method: "GET", path: "/metrics")).body, as: UTF8.self)
        #expect(metrics.contains(#"portpressure_scrape_collector_success{collector="sockets"} 0"#))
        #expect(routes.handle(HTTPRequest(method: "GET", path: "/-/ready")).status == 200)
    }

    @Test("/-/ready stays 503 while a collector keeps failing, though others succeed")
    func readinessNeedsEveryCollector() {
        let failing = Routes(exporter: Fixture.exporter(source: FailingSource(rangeFails: false)))
        #expect(failing.handle(HTTPRequest(method: "GET", path: "/-/ready")).status == 503)
        #expect(failing.handle(HTTPRequest(method: "GET", path: "/-/ready")).status == 503)
    }

    @Test("The landing page runs a collection, so it is held to --web.max-requests like the metrics")
    func collectingPathsIncludeTheLandingPage() {
        #expect(routes.collectingPaths == ["/metrics", "/"])
        #expect(Routes(exporter: Fixture.exporter(), telemetryPath: "/x").collectingPaths == ["/x", "/"])
    }

    @Test func landingPageShowsTopPressures() {
        let page = body(get("/"))
        #expect(page.contains("<a href=\"/metrics\">Metrics</a>"))
        #expect(page.contains("<a href=\"/-/ready\">Readiness</a>"))
        #expect(page.contains("version 9.9.9"))
        #expect(page.contains("<td>127.0.0.1</td><td class=n>29</td>"))
    }

    @Test func customTelemetryPathAndReloadHook() {
        let routes = Routes(exporter: Fixture.exporter(), telemetryPath: "/probe-metrics", reload: { .failure(.init("bad yaml")) })
        #expect(routes.handle(HTTPRequest(method: "GET", path: "/probe-metrics")).status == 200)
        #expect(routes.handle(HTTPRequest(method: "GET", path: "/metrics")).status == 404)
        let reload = routes.handle(HTTPRequest(method: "POST", path: "/-/reload"))
        #expect(reload.status == 500)
        #expect(String(decoding: reload.body, as: UTF8.self).contains("bad yaml"))
    }
}
