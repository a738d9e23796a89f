import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// `serve --config.check`: loads the configuration as `serve` would and exits, 0 when it is
    /// valid and 2 with the error when not, serving nothing. Run in a namespace under `timeout`:
    /// a check that started serving instead would neither listen on the host nor hang the test.
    @Suite struct ConfigCheck {
        static func check(_ arguments: [String]) throws -> ProcessResult {
            try NetworkNamespace().spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve", "--config.check"] + arguments)
        }

        @Test func validFileExitsZeroAndSaysWhatItChecked() throws {
            try withTemporaryDirectory("pp-config-check") { directory in
                let file = directory.appendingPathComponent("probes.yml")
                try """
                probes:
                  - name: resolver
                    protocol: udp
                    target: 127.0.0.1:53
                  - name: web
                    protocol: tcp
                    target: 127.0.0.1:80
                    interval: 30s
                """.write(to: file, atomically: true, encoding: .utf8)
                let result = try Self.check(["--config.file", file.path])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout == "configuration OK: \(file.path) (probes: 2)\n")
                #expect(!result.stderr.contains("listening"), "\(result.stderr)")
            }
        }

        @Test(arguments: [
            ("probes:\n  - name: web\n    protocol: tcpx\n    target: 127.0.0.1:80\n", #"probe "web", field protocol: "tcpx" is not tcp or udp"#),
            ("probes:\n  - name: web\n    protocol: tcp\n    target: 127.0.0.1:80\n    colour: red\n", "colour"),
            ("probes: [\n", "not valid YAML"),
            ("", "the file is empty"),
        ])
        func invalidFileExitsTwoWithTheError(_ text: String, _ mentions: String) throws {
            try withTemporaryDirectory("pp-config-check") { directory in
                let file = directory.appendingPathComponent("probes.yml")
                try text.write(to: file, atomically: true, encoding: .utf8)
                let result = try Self.check(["--config.file", file.path])
                #expect(result.status == 2, "exit \(result.status): \(result.stderr)")
                #expect(result.stderr.contains(file.path) && result.stderr.contains(mentions), "\(result.stderr)")
                #expect(result.stdout.isEmpty, "\(result.stdout)")
            }
        }

        @Test func missingFileExitsTwo() throws {
            let result = try Self.check(["--config.file", "/nonexistent/probes.yml"])
            #expect(result.status == 2 && result.stderr.contains("/nonexistent/probes.yml: cannot read the file"), "\(result.stderr)")
        }

        @Test func nothingToCheckExitsZero() throws {
            let result = try Self.check([])
            #expect(result.status == 0 && result.stdout == "configuration OK: no configuration file given\n", "\(result.stdout)\(result.stderr)")
        }
    }
}
