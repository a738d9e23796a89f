import Foundation
import HTTPServer
import Testing
import TestSupport
@testable import WebConfig

/// Parsing and validation on recorded text: no file but the YAML is read.
@Suite struct WebConfigParserTests {
    static let hash = TestPassword.bcrypt

    func parse(_ yaml: String) throws(WebConfigError) -> WebConfig {
        try WebConfig.parse(yaml: yaml, directory: "/etc/portpressure", file: "web.yml")
    }

    func failure(_ yaml: String) -> WebConfigError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyFieldIsRead() throws {
        let config = try parse("""
            tls_server_config:
              cert_file: tls/server.crt
              key_file: /secrets/server.key
              client_auth_type: VerifyClientCertIfGiven
              client_ca_file: ca.crt
              min_version: TLS13
              max_version: TLS13
              cipher_suites: [TLS_AES_128_GCM_SHA256]
              curve_preferences: [X25519, CurveP384]
              prefer_server_cipher_suites: false
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=63072000
            basic_auth_users:
              prometheus: '\(Self.hash)'
            """)
        let tls = try #require(config.tls)
        #expect(tls.certFile == "/etc/portpressure/tls/server.crt")
        #expect(tls.keyFile == "/secrets/server.key")
        #expect(tls.clientAuth == .verifyClientCertIfGiven)
        #expect(tls.clientCAFile == "/etc/portpressure/ca.crt")
        #expect(tls.minVersion == .tls13 && tls.maxVersion == .tls13)
        #expect(tls.cipherSuites.map(\.name) == ["TLS_AES_128_GCM_SHA256"])
        #expect(tls.curvePreferences == [.x25519, .p384])
        #expect(tls.preferServerCipherSuites == false)
        #expect(config.http2 == false)
        #expect(config.headers.map(\.name) == ["Strict-Transport-Security", "X-Frame-Options"])
        #expect(config.users == ["prometheus": Self.hash])
    }

    @Test func defaultsAreExporterToolkits() throws {
        let config = try parse("tls_server_config: {cert_file: a.crt, key_file: a.key}")
        let tls = try #require(config.tls)
        #expect(tls.minVersion == .tls12 && tls.maxVersion == .tls13)
        #expect(tls.clientAuth == .noClientCert && tls.clientCAFile == nil)
        #expect(tls.preferServerCipherSuites)
        #expect(config.http2)
        #expect(try parse("").tls == nil)
        // Versions alone configure no TLS: exporter-toolkit serves plain HTTP then.
        #expect(try parse("tls_server_config: {min_version: TLS13}").tls == nil)
        #expect(try parse("tls_server_config: {cert_file: a.crt, key_file: a.key, client_auth_type: RequireClientCert}").tls?.clientAuth
                == .requireAnyClientCert)
    }

    @Test func errorsNameTheField() {
        let cases: [(String, String, String)] = [
            ("tls_server_config: {cert_file: a, key_file: b, cert_filse: c}", "tls_server_config", "unknown field \"cert_filse\""),
            ("tls_config: {}", "", "unknown field \"tls_config\""),
            ("tls_server_config: {cert_file: a}", "tls_server_config.key_file", "missing"),
            ("tls_server_config: {client_auth_type: RequireAndVerifyClientCert}", "tls_server_config.cert_file", "missing"),
            ("tls_server_config: {cert_file: a, key_file: b, client_auth_type: Always}", "tls_server_config.client_auth_type", "invalid value"),
            ("tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}", "tls_server_config.client_ca_file", "without a client auth policy"),
            ("tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}", "tls_server_config.min_version", "unknown TLS version"),
            ("tls_server_config: {cipher_suites: [NOPE]}", "tls_server_config.cipher_suites", "unknown cipher \"NOPE\""),
            ("tls_server_config: {curve_preferences: [CurveP224]}", "tls_server_config.curve_preferences", "unknown curve"),
            ("http_server_config: {http2: maybe}", "http_server_config.http2", "true or false"),
            ("http_server_config: {headers: {Server: x}}", "http_server_config.headers", "can not be configured"),
            ("http_server_config: {headers: {X-Content-Type-Options: sniff}}", "http_server_config.headers.X-Content-Type-Options", "invalid value"),
            ("basic_auth_users: {prometheus: secret}", "basic_auth_users.prometheus", "not a bcrypt hash"),
            ("basic_auth_users: {prometheus: '$1$\(String(repeating: "a", count: 60))'}", "basic_auth_users.prometheus", "$2a$, $2b$ or $2y$"),
            ("basic_auth_users: {prometheus: '$2b$99$\(String(repeating: "a", count: 53))'}", "basic_auth_users.prometheus", "cost 99"),
            ("- a", "", "the top level must be a mapping"),
        ]
        for (yaml, field, message) in cases {
            let error = failure(yaml)
            #expect(error != nil, "\(yaml) should be refused")
            #expect((error?.field ?? "") == field, "\(yaml): \(String(describing: error))")
            #expect(error?.message.contains(message) == true, "\(yaml): \(String(describing: error))")
            #expect(error?.description.hasPrefix("web.yml") == true)
        }
        #expect(failure("tls_server_config: {cert_file: a, cert_file: b}")?.message.contains("duplicate") == true)
    }

    @Test func gnutlsPrioritiesFollowTheConfiguration() throws {
        var tls = TLSServerConfig(certFile: "a", keyFile: "b")
        #expect(try tls.gnutlsPriorities() == "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE")
        tls.minVersion = .tls13
        tls.curvePreferences = [.x25519, .p256]
        tls.preferServerCipherSuites = false
        // TLS 1.3 only: cipher_suites change nothing, as in Go.
        tls.cipherSuites = [CipherSuite.named("TLS_RSA_WITH_AES_128_CBC_SHA")!]
        #expect(try tls.gnutlsPriorities() == "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1")

        tls = TLSServerConfig(certFile: "a", keyFile: "b", maxVersion: .tls12,
                              cipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"].map { CipherSuite.named($0)! })
        #expect(try tls.gnutlsPriorities()
                == "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:%SERVER_PRECEDENCE")
    }

    @Test func cipherListsGnuTLSWouldWidenAreRefused() {
        // One AEAD suite with TLS 1.3 on: TLS 1.3's ciphers would add ECDHE-RSA's other AEAD suites.
        let tls = TLSServerConfig(certFile: "a", keyFile: "b", cipherSuites: [CipherSuite.named("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")!])
        #expect {
            try tls.gnutlsPriorities()
        } throws: { error in
            let error = error as? WebConfigError
            return error?.field == "tls_server_config.cipher_suites"
                && error?.message.contains("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256") == true
                && error?.message.contains("max_version: TLS12") == true
        }
        let inverted = TLSServerConfig(certFile: "a", keyFile: "b", minVersion: .tls13, maxVersion: .tls12)
        #expect(throws: WebConfigError.self) { try inverted.gnutlsPriorities() }
    }

    @Test func bcryptShapeMatchesGo() {
        #expect(BcryptHash.problem(Self.hash) == nil)
        #expect(BcryptHash.problem("$2y$04$" + String(repeating: "x", count: 53)) == nil)
        #expect(BcryptHash.problem("$2y$03$" + String(repeating: "x", count: 53)) != nil)
        #expect(BcryptHash.problem("$2y$10$short") != nil)
    }
}
