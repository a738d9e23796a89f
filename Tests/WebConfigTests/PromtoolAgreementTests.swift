import Foundation
import HTTPServer
import Testing
import TestSupport
@testable import WebConfig

/// `promtool check web-config` (exporter-toolkit's own validation) and `WebConfig.validate`
/// agree on every fixture: `*.good.yml` both accept, `*.bad.yml` both reject. `*.refused.yml`
/// are files promtool accepts that libmicrohttpd/GnuTLS cannot honour: portpressure refuses
/// them, naming the field. The fixtures name certificate files, made here with openssl.
@Suite struct PromtoolAgreementTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    @Test func promtoolAndPortpressureAgree() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { $0.hasSuffix(".yml") }.sorted()
        #expect(names.filter { $0.hasSuffix(".good.yml") }.count >= 10)
        #expect(names.filter { $0.hasSuffix(".bad.yml") }.count >= 20)
        for name in names {
            let file = certificates.path(name)
            try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent(name).path, toPath: file)
            let promtool = try Tool.run(["promtool", "check", "web-config", file])
            var portpressureError: WebConfigError?
            do { _ = try WebConfig.validate(file: file) } catch { portpressureError = error }

            if name.hasSuffix(".good.yml") {
                #expect(promtool.status == 0, "promtool rejects \(name): \(promtool.stderr)")
                #expect(portpressureError == nil, "portpressure rejects \(name): \(String(describing: portpressureError))")
            } else if name.hasSuffix(".bad.yml") {
                #expect(promtool.status != 0, "promtool accepts \(name)")
                #expect(portpressureError != nil, "portpressure accepts \(name)")
                #expect(portpressureError?.description.contains(file) == true)
            } else {
                #expect(promtool.status == 0, "promtool rejects \(name): \(promtool.stderr)")
                #expect(portpressureError?.field?.hasPrefix("tls_server_config.") == true,
                        "\(name): \(String(describing: portpressureError))")
            }
        }
    }
}
