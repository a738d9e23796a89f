import Foundation
@testable import HTTPServer
import Logging
import Testing
import TestSupport
import WebConfig

/// An HTTPServer on 127.0.0.1 configured from a web configuration file, with certificates
/// made by openssl and curl (or openssl s_client) as the client.
@Suite(.serialized) struct SecureServerTests {
    final class Fixture {
        let certificates: TestCertificates
        let server: HTTPServer
        let port: UInt16

        /// Writes `yaml` as web.yml beside the certificates, validates it and serves it.
        init(_ yaml: String, certificates: TestCertificates? = nil) throws {
            let certificates = try certificates ?? TestCertificates()
            let file = certificates.path("web.yml")
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let security = try WebConfig.validate(file: file).security
            var logger = Logger(label: "test.tls")
            logger.logLevel = .critical
            server = try HTTPServer(configuration: HTTPServerConfiguration(listenAddresses: [try ListenAddress(parsing: "127.0.0.1:0")],
                                                                          security: security),
                                    logger: logger) { request in .text(200, "hello \(request.path)\n") }
            port = try #require(server.boundAddresses.first?.port)
            self.certificates = certificates
        }

        var url: String { "https://localhost:\(port)/metrics" }

        /// curl with the test CA, resolving localhost to 127.0.0.1 (never another address).
        func curl(_ arguments: [String] = [], path: String = "/metrics") throws -> Curl.Outcome {
            try Curl.get("https://localhost:\(port)\(path)",
                         ["--resolve", "localhost:\(port):127.0.0.1", "--cacert", certificates.path("ca.crt")] + arguments)
        }

        func clientCertificate(_ name: String) -> [String] {
            ["--cert", certificates.path(name + ".crt"), "--key", certificates.path(name + ".key")]
        }

        deinit {
            server.stop()
            certificates.remove()
        }
    }

    static let tlsOnly = """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
        http_server_config:
          headers:
            Strict-Transport-Security: max-age=31536000
        """

    @Test func servesHTTPSToAClientThatTrustsTheCA() throws {
        let fixture = try Fixture(Self.tlsOnly)
        let response = try fixture.curl()
        #expect(response.exitCode == 0 && response.status == 200, "\(response)")
        #expect(response.body == "hello /metrics\n")
        #expect(response.headers.contains("Strict-Transport-Security: max-age=31536000"))
        // Without the CA, curl cannot verify the certificate (60: peer certificate cannot be authenticated).
        let untrusted = try Curl.get(fixture.url, ["--resolve", "localhost:\(fixture.port):127.0.0.1"])
        #expect(untrusted.exitCode == 60 && untrusted.status == 0, "\(untrusted)")
    }

    @Test func plainHTTPToTheTLSPortFailsAndTheServerKeepsServing() throws {
        let fixture = try Fixture(Self.tlsOnly)
        let plain = try Curl.get("http://127.0.0.1:\(fixture.port)/metrics")
        #expect(plain.exitCode != 0 && plain.status == 0, "\(plain)")
        let after = try fixture.curl()
        #expect(after.status == 200, "\(after)")
    }

    @Test func basicAuthOnEveryPath() throws {
        let fixture = try Fixture(Self.tlsOnly + "\nbasic_auth_users:\n  prometheus: '\(TestPassword.bcrypt)'\n")
        for path in ["/metrics", "/-/healthy", "/-/reload", "/"] {
            let missing = try fixture.curl(path: path)
            #expect(missing.status == 401, "\(path): \(missing)")
            #expect(missing.headers.contains("WWW-Authenticate: Basic"), "\(missing.headers)")
            #expect(missing.headers.contains("Strict-Transport-Security"), "headers apply to 401s too")
            #expect(try fixture.curl(["-u", "prometheus:wrong"], path: path).status == 401)
            #expect(try fixture.curl(["-u", "someone:secret"], path: path).status == 401)
            let right = try fixture.curl(["-u", "prometheus:\(TestPassword.plain)"], path: path)
            #expect(right.status == 200 && right.body == "hello \(path)\n", "\(path): \(right)")
        }
    }

    /// Go's tls.ClientAuthType semantics, which exporter-toolkit documents: for each policy,
    /// which clients complete the handshake: none, a good certificate, an expired one (same
    /// CA), one from another CA.
    @Test(arguments: [
        ("NoClientCert", [true, true, true, true]),
        ("RequestClientCert", [true, true, true, true]),
        ("RequireAnyClientCert", [false, true, true, true]),
        ("VerifyClientCertIfGiven", [true, true, false, false]),
        ("RequireAndVerifyClientCert", [false, true, false, false]),
    ])
    func clientAuthTypes(policy: String, expected: [Bool]) throws {
        let caLine = policy == "NoClientCert" ? "" : "\n  client_ca_file: ca.crt"
        let fixture = try Fixture("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_auth_type: \(policy)\(caLine)
            """)
        let clients: [(String, [String])] = [("none", []), ("good", fixture.clientCertificate("client")),
                                              ("expired", fixture.clientCertificate("expired")),
                                              ("other CA", fixture.clientCertificate("stranger"))]
        for ((name, arguments), accepted) in zip(clients, expected) {
            // TLS 1.2 and 1.3 both: in 1.3 a refused client certificate can surface after the handshake.
            for version in ["1.2", "1.3"] {
                let outcome = try fixture.curl(arguments + ["--tls-max", version])
                #expect((outcome.status == 200) == accepted, "\(policy), client \(name), TLS \(version): \(outcome)")
                if !accepted { #expect(outcome.exitCode != 0) }
            }
        }
    }

    @Test func versionLimits() throws {
        let fixture = try Fixture("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              min_version: TLS13
            """)
        let old = try fixture.curl(["--tls-max", "1.2"])
        #expect(old.exitCode == 35 && old.status == 0, "a TLS 1.2 client must fail the handshake: \(old)")
        #expect(try fixture.curl(["--tlsv1.3"]).status == 200)

        let capped = try Fixture("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              max_version: TLS12
            """)
        #expect(try capped.curl(["--tlsv1.3"]).exitCode == 35)
        #expect(try capped.curl(["--tls-max", "1.2"]).status == 200)
    }

    @Test func cipherSuitesAndCurvesRestrictTheHandshake() throws {
        let fixture = try Fixture("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              max_version: TLS12
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA]
              curve_preferences: [CurveP384]
            """)
        #expect(try fixture.curl().status == 200)
        #expect(try fixture.curl(["--ciphers", "ECDHE-RSA-AES128-SHA"]).status == 200)
        let unlisted = try fixture.curl(["--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"])
        #expect(unlisted.exitCode == 35 && unlisted.status == 0, "a suite not listed must not be negotiated: \(unlisted)")
        #expect(try fixture.curl(["--curves", "P-384"]).status == 200)
        let curve = try fixture.curl(["--curves", "X25519"])
        #expect(curve.exitCode == 35 && curve.status == 0, "a curve not listed must not be negotiated: \(curve)")
    }

    @Test func rotatedCertificateIsServedOnNewConnections() throws {
        let fixture = try Fixture(Self.tlsOnly)
        let first = try fixture.certificates.serial(ofCertificateFile: fixture.certificates.path("server.crt"))
        #expect(try fixture.certificates.servedSerial(port: fixture.port) == first)
        let second = try fixture.certificates.rotateServerCertificate()
        #expect(second != first)
        #expect(try fixture.certificates.servedSerial(port: fixture.port) == second)
        #expect(try fixture.curl().status == 200)
        // The first certificate's credentials go once the connections that used them are closed.
        let store = try #require(fixture.server.context.security.tls)
        try waitUntil("replaced credentials to be freed") { store.liveGenerations == 1 }

        // A half-done rotation (new certificate, old key) keeps the last good pair in service.
        let keep = fixture.certificates.path("server.key") + ".good"
        try FileManager.default.copyItem(atPath: fixture.certificates.path("server.key"), toPath: keep)
        let third = try fixture.certificates.rotateServerCertificate()
        _ = rename(keep, fixture.certificates.path("server.key"))
        #expect(try fixture.certificates.servedSerial(port: fixture.port) == second, "mismatched pair must not be served")
        #expect(third != second)
    }
}

