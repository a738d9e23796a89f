import Foundation
import Glibc
import Testing
import TestSupport
import Yams

/// `portpressure serve --web.config.file` (TLS and basic auth), unprivileged, in a private
/// network namespace, scraped by Debian's real Prometheus with the example configuration's
/// `portpressure-tls` job (scheme https, tls_config, basic_auth), its paths pointed at
/// certificates made here.
@Suite("End to end: Prometheus scrapes portpressure over HTTPS with basic auth")
struct SecureScrapeEndToEndTests {
    static let exporterPort: UInt16 = 20110
    static let prometheusPort: UInt16 = 20091
    static let exampleJob = "portpressure-tls"

    /// The example prometheus.yml's HTTPS job, scraping the test's exporter every second.
    static func prometheusConfig(caFile: String, passwordFile: String) throws -> String {
        let example = try Yams.load(yaml: Repository.text(Repository.prometheusConfig)) as? [String: Any]
        let jobs = example?["scrape_configs"] as? [[String: Any]] ?? []
        guard var job = jobs.first(where: { $0["job_name"] as? String == exampleJob }) else {
            throw OpsTestError("deploy/prometheus/prometheus.yml has no job \(exampleJob)")
        }
        guard job["scheme"] as? String == "https", var tls = job["tls_config"] as? [String: Any],
              var auth = job["basic_auth"] as? [String: Any] else {
            throw OpsTestError("job \(exampleJob) lacks scheme: https, tls_config or basic_auth")
        }
        tls["ca_file"] = caFile
        auth["password_file"] = passwordFile
        job["tls_config"] = tls
        job["basic_auth"] = auth
        job["scrape_interval"] = "1s"
        job["scrape_timeout"] = "1s"
        job["static_configs"] = [["targets": ["127.0.0.1:\(exporterPort)"]]]
        return try Yams.dump(object: ["global": ["scrape_interval": "1s", "evaluation_interval": "1s"], "scrape_configs": [job]])
    }

    @Test("Prometheus scrapes over HTTPS with basic auth and gets data", .timeLimit(.minutes(2)))
    func scrapesOverHTTPSWithBasicAuth() throws {
        let binary = try EndToEndTests.portpressureBinary()
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try withTemporaryDirectory("pp-e2e-tls") { directory in
            // The exporter runs as nobody: it must read its web configuration and certificate files.
            chmod(directory.path, 0o755)
            chmod(certificates.directory, 0o755)
            for name in ["server.crt", "server.key"] { chmod(certificates.path(name), 0o644) }
            let webConfig = certificates.path("web.yml")
            try """
                tls_server_config:
                  cert_file: server.crt
                  key_file: server.key
                basic_auth_users:
                  prometheus: '\(TestPassword.bcrypt)'
                """.write(toFile: webConfig, atomically: true, encoding: .utf8)
            chmod(webConfig, 0o644)
            let passwordFile = directory.appendingPathComponent("password").path
            try TestPassword.plain.write(toFile: passwordFile, atomically: true, encoding: .utf8)
            try Self.prometheusConfig(caFile: certificates.path("ca.crt"), passwordFile: passwordFile)
                .write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)

            let ns = try NetworkNamespace()
            var exporter: RunningProcess?
            var server: RunningProcess?
            defer {
                server?.stop()
                exporter?.stop()
            }
            exporter = try ns.launch(try RunningProcess.unprivileged(
                [binary, "serve", "--web.listen-address", "127.0.0.1:\(Self.exporterPort)", "--web.config.file", webConfig]))
            let url = "https://127.0.0.1:\(Self.exporterPort)/metrics"
            let curl = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certificates.path("ca.crt")]
            try waitUntil("portpressure serve to answer over HTTPS", timeout: .seconds(20), every: .milliseconds(500)) {
                guard exporter!.isRunning else { throw StopWaiting("portpressure serve \(exporter!.ending!):\n\(exporter!.logTail)") }
                return try ns.spawn(curl + ["-u", "prometheus:\(TestPassword.plain)", url]).stdout == "200"
            }
            #expect(try ns.spawn(curl + [url]).stdout == "401", "no credentials, no metrics")
            #expect(exporter!.logText.contains("TLS is enabled"))

            let (started, api) = try RunningProcess.prometheus(directory: directory, port: Self.prometheusPort, namespace: ns)
            server = started
            // The example job relabels itself to job="portpressure", which the dashboards and alerts select.
            try waitUntil("three successful HTTPS scrapes", timeout: .seconds(30), every: .milliseconds(500)) {
                let count = try api.query(#"count_over_time(up{job="portpressure"}[1m])"#)
                let up = try api.query(#"up{job="portpressure"}"#)
                return up.first?.value == 1 && (count.first?.value ?? 0) >= 3
            }
            #expect(try api.query(#"portpressure_ephemeral_ports_limit{job="portpressure"}"#).first?.value == 28232)
            #expect(try api.query(#"portpressure_build_info{job="portpressure"}"#).count == 1)
        }
    }
}
