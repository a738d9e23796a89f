#if canImport(Glibc)
import Glibc
#endif
@testable import Probes
import ConnectXTestSupport
import TestSupport
import Testing

/// The value of the sample `series` (name and labels, as exposed) in the scrape `metrics`;
/// nil when it is absent or the text is no valid exposition.
func sample(_ series: String, in metrics: String) -> Double? {
    (try? Exposition(metrics).value(series: series)) ?? nil
}

extension ProbesTests {
    /// The built `portpressure` binary, end to end, inside a namespace.
    @Suite struct ProbeCommandTests {
        let binary = BuiltProducts.path("portpressure")

        @Test func probeCommandTableAndExitCodes() throws {
            let ns = try NetworkNamespace()
            let listener = try ns.run { try Fixture.tcpListener("127.0.0.2:80") }
            let path = "/tmp/portpressure-probe-command-\(getpid()).yml"
            defer { TestFile.remove(path) }

            let ok = try ns.spawn([binary, "probe", "--target", "127.0.0.2:80"])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout.hasPrefix("PROBE         RESULT  REASON  DURATION  LOCAL"))
            #expect(ok.stdout.contains("127.0.0.2:80  ok      -"))
            #expect(ok.stdout.contains("127.0.0.1:"))

            let refused = try ns.spawn([binary, "probe", "--target", "127.0.0.2:81", "--method", "plain"])
            #expect(refused.status == 1)
            #expect(refused.stdout.contains("FAILED  econnrefused"))

            let bad = try ns.spawn([binary, "probe", "--target", "127.0.0.2"])
            #expect(bad.status == 2)
            #expect(bad.stderr.contains("--target: \"127.0.0.2\" is not host:port"))
            #expect(try ns.spawn([binary, "probe"]).status == 2)
            #expect(try ns.spawn([binary, "probe", "--target", "127.0.0.2:80", "--timeout", "2"]).status == 2)
            #expect(try ns.spawn([binary, "probe", "--target", "127.0.0.2:80", "--send-hex", "0"]).status == 2)

            try TestFile.write(path, "probes:\n  - {name: web, protocol: tcp, target: '127.0.0.2:80'}\n  - {name: shut, protocol: tcp, target: '127.0.0.2:81'}\n")
            let file = try ns.spawn([binary, "probe", "--config.file", path])
            #expect(file.status == 1)
            let rows = file.stdout.split(separator: "\n")
            #expect(rows.count == 3)
            #expect(rows.count == 3 && rows[1].hasPrefix("web    ok") && rows[2].hasPrefix("shut   FAILED  econnrefused"))

            try TestFile.write(path, "probes:\n  - {name: web, protocol: tcp, target: '127.0.0.2:80', method: quick}\n")
            let badFile = try ns.spawn([binary, "probe", "--config.file", path])
            #expect(badFile.status == 2)
            #expect(badFile.stderr.contains("\(path):2: probe \"web\", field method: \"quick\" is not connectx or plain"))
            withExtendedLifetime(listener) {}
        }

        @Test func serveRunsProbesAndReloads() throws {
            let ns = try NetworkNamespace()
            let listener = try ns.run { try Fixture.tcpListener("127.0.0.2:80") }
            let path = "/tmp/portpressure-serve-probes-\(getpid()).yml"
            defer { TestFile.remove(path) }
            func config(_ probes: [(String, String)]) -> String {
                "probes:\n" + probes.map { "  - {name: \($0.0), protocol: tcp, target: '\($0.1)', interval: 200ms, timeout: 100ms}\n" }.joined()
            }

            // A bad file at start: exit 2, nothing served.
            try TestFile.write(path, "probes:\n  - {name: web, protocol: tcp, target: '127.0.0.2:80', timeout: 2}\n")
            let refused = try ns.spawn([binary, "serve", "--config.file", path, "--web.listen-address", "127.0.0.1:19101"])
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("field timeout"))

            try TestFile.write(path, config([("web", "127.0.0.2:80"), ("shut", "127.0.0.2:81")]))
            let serve = try ns.launch([binary, "serve", "--config.file", path, "--web.listen-address", "127.0.0.1:19102",
                                       "--no-collector.sockets", "--no-collector.udp"])
            let client = HTTPClient(port: 19102)
            func metrics() -> String { (try? ns.run { try client.request("GET", "/metrics") })?.text ?? "" }
            #expect(eventually {
                (sample("portpressure_probe_runs_total{probe=\"web\"}", in: metrics()) ?? 0) >= 2
                    && (sample("portpressure_probe_runs_total{probe=\"shut\"}", in: metrics()) ?? 0) >= 2
            }, "\(serve.stderr)")
            var text = metrics()
            #expect(sample("portpressure_probe_success{probe=\"web\"}", in: text) == 1)
            #expect(sample("portpressure_probe_success{probe=\"shut\"}", in: text) == 0)
            #expect((sample("portpressure_probe_failures_total{probe=\"shut\",reason=\"econnrefused\"}", in: text) ?? 0) >= 2)
            #expect(sample("portpressure_probe_failures_total{probe=\"web\",reason=\"overshadowed\"}", in: text) == 0)
            #expect(sample("portpressure_scrape_collector_success{collector=\"probes\"}", in: text) == 1)
            #expect(sample("portpressure_config_last_reload_successful", in: text) == 1)
            let loadedAt = try #require(sample("portpressure_config_last_reload_success_timestamp_seconds", in: text))

            // A bad file through POST /-/reload: 500, old probes keep running.
            try TestFile.write(path, "probes: [")
            let post = try ns.run { try client.request("POST", "/-/reload", headers: [("Content-Length", "0")]) }
            #expect(post.status == 500)
            #expect(post.text.contains("not valid YAML"))
            text = metrics()
            #expect(sample("portpressure_config_last_reload_successful", in: text) == 0)
            #expect(sample("portpressure_config_last_reload_success_timestamp_seconds", in: text) == loadedAt)
            let webRuns = try #require(sample("portpressure_probe_runs_total{probe=\"web\"}", in: text))
            #expect(eventually { (sample("portpressure_probe_runs_total{probe=\"web\"}", in: metrics()) ?? 0) >= webRuns + 2 })

            // A good file through SIGHUP: web keeps its counter, shut goes, later comes.
            try TestFile.write(path, config([("web", "127.0.0.2:80"), ("later", "127.0.0.2:82")]))
            serve.signal(SIGHUP)
            #expect(eventually { sample("portpressure_config_last_reload_successful", in: metrics()) == 1 })
            text = metrics()
            #expect((sample("portpressure_probe_runs_total{probe=\"web\"}", in: text) ?? 0) >= webRuns + 2)
            #expect(sample("portpressure_probe_runs_total{probe=\"shut\"}", in: text) == nil)
            #expect(text.contains("portpressure_probe_info{probe=\"later\",proto=\"tcp\",target=\"127.0.0.2:82\",source=\"\",method=\"connectx\"} 1"))
            #expect((sample("portpressure_config_last_reload_success_timestamp_seconds", in: text) ?? 0) > loadedAt)

            #expect(serve.stop() == 0)
            #expect(serve.stderr.contains("reloading the probes failed"))
            withExtendedLifetime(listener) {}
        }
    }
}
