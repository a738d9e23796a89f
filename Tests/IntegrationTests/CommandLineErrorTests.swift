#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Usage errors of `report` and `serve`: a clear message on stderr and exit code 2, as the
    /// Prometheus exporters' flag parsers do. Run in a namespace under `timeout`, so a flag
    /// that were wrongly accepted could neither listen on the host nor hang the test.
    @Suite struct CommandLineErrors {
        static let cases: [(arguments: [String], mentions: String)] = [
            (["report", "--no-such-flag"], "--no-such-flag"),
            (["report", "--format", "xml"], "xml"),
            (["report", "--top", "0"], "--top"),
            (["report", "--color", "sometimes"], "sometimes"),
            (["report", "extra-argument"], "extra-argument"),
            (["serve", "--no-such-flag"], "--no-such-flag"),
            (["serve", "--web.telemetry-path", "/"], "--web.telemetry-path"),
            (["serve", "--web.max-requests", "-1"], "--web.max-requests"),
            (["serve", "--log.level", "loud"], "loud"),
            (["serve", "--log.format", "xml"], "xml"),
            (["serve", "--collector.sockets.top-destinations", "-3"], "--collector.sockets.top-destinations"),
            (["serve", "--collector.udp.top-duplicates", "many"], "many"),
            (["serve", "--web.systemd-socket", "--web.listen-address", ":10123"], "--web.systemd-socket"),
            (["no-such-command"], "no-such-command"),
        ]

        @Test(arguments: cases.indices)
        func badFlagsExitTwoWithAMessage(_ index: Int) throws {
            let (arguments, mentions) = Self.cases[index]
            let ns = try NetworkNamespace()
            let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure")] + arguments)
            #expect(result.status == 2, "\(arguments): exit \(result.status), stderr: \(result.stderr)")
            #expect(result.stderr.contains(mentions), "\(arguments): stderr does not mention \(mentions): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(arguments): stdout: \(result.stdout)")
        }

        /// An invalid listen address fails the start as one in use does (issue 3): exit 1, a
        /// message naming the address, nothing served.
        @Test(arguments: [("no-port-here", "no-port-here"), ("127.0.0.1:99999", "99999"), ("[::1:9100", "[::1:9100")])
        func invalidListenAddressExitsOne(_ address: String, _ mentions: String) throws {
            let ns = try NetworkNamespace()
            let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve", "--web.listen-address", address])
            #expect(result.status == 1, "\(address): exit \(result.status), stderr: \(result.stderr)")
            #expect(result.stderr.contains("level=error") && result.stderr.contains(mentions), "\(address): \(result.stderr)")
        }

        /// A web configuration file promtool would reject, or one GnuTLS cannot honour, stops
        /// `serve` before it listens: exit 2 and an error naming the file and the field.
        @Test(arguments: [
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cert_filse: x\n", "cert_filse"),
            ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", "missing.crt"),
            ("basic_auth_users:\n  prometheus: secret\n", "basic_auth_users.prometheus"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n",
             "tls_server_config.min_version"),
        ])
        func invalidWebConfigExitsTwo(_ yaml: String, _ mentions: String) throws {
            let certificates = try TestCertificates()
            defer { certificates.remove() }
            let file = certificates.path("web.yml")
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let ns = try NetworkNamespace()
            let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve", "--web.config.file", file])
            #expect(result.status == 2, "exit \(result.status), stderr: \(result.stderr)")
            #expect(result.stderr.contains("invalid web configuration file") && result.stderr.contains(mentions)
                    && result.stderr.contains(file), "\(result.stderr)")
            #expect(!result.stderr.contains("msg=listening"), "\(result.stderr)")
        }

        /// When the kernel refuses (here: no descriptor left for the /proc/sys read after the
        /// netlink socket), report says what failed and exits 1, printing no partial report.
        @Test func kernelRefusalExitsOneWithTheReason() throws {
            let ns = try NetworkNamespace()
            let result = try ns.spawn(["sh", "-c", "ulimit -n 4 && exec timeout 20 \"$0\" report --format json", BuiltProducts.path("portpressure")])
            #expect(result.status == 1, "exit \(result.status), stderr: \(result.stderr)")
            #expect(result.stderr.contains("portpressure report:") && result.stderr.contains("Too many open files"), "\(result.stderr)")
            #expect(result.stdout.isEmpty, "\(result.stdout)")
        }

        /// Issue 11, item 5: `report --record` writes a whole recording; cut short (even at a
        /// frame boundary, after the first dump) or padded, `--replay` exits 1 naming the offset.
        @Test func aCutOrPaddedRecordingIsRefused() throws {
            let ns = try NetworkNamespace()
            let path = "/tmp/portpressure-record-\(getpid()).ppsd"
            defer { unlink(path); unlink(path + ".cut"); unlink(path + ".frame"); unlink(path + ".pad") }
            let recorded = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "report", "--record", path])
            #expect(recorded.status == 0, "\(recorded.stderr)")
            let bytes = try #require(FileManager.default.contents(atPath: path))
            let whole = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "report", "--replay", path])
            #expect(whole.status == 0, "\(whole.stderr)")
            // The offset of the second dump frame (kind 1): the first dump whole, the rest gone.
            var offset = 8, dumps = 0, boundary = 0
            while offset + 8 <= bytes.count {
                let length = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
                if bytes[offset] == 1 { dumps += 1; if dumps == 2 { boundary = offset; break } }
                offset += 8 + length
            }
            #expect(boundary > 0)
            for (suffix, data, message) in [
                (".cut", bytes.prefix(8), "recording ends at offset 8 without its trailer"),
                (".frame", bytes.prefix(boundary), "recording ends at offset \(boundary) without its trailer"),
                (".pad", bytes + Data(count: 16), "16 bytes after the trailer, at offset \(bytes.count)"),
            ] {
                #expect(FileManager.default.createFile(atPath: path + suffix, contents: Data(data)))
                let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "report", "--replay", path + suffix])
                #expect(result.status == 1, "\(suffix): exit \(result.status)")
                #expect(result.stderr.contains(message), "\(suffix): \(result.stderr)")
                #expect(result.stdout.isEmpty, "\(suffix): \(result.stdout)")
            }
        }

        @Test func helpAndVersionExitZero() throws {
            let ns = try NetworkNamespace()
            for arguments in [["--help"], ["report", "--help"], ["serve", "--help"]] {
                let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure")] + arguments)
                #expect(result.status == 0 && result.stdout.contains("USAGE"), "\(arguments): \(result.status) \(result.stderr)")
            }
            for arguments in [["--version"], ["serve", "--version"]] {
                let version = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure")] + arguments)
                #expect(version.status == 0, "\(version.status) \(version.stderr)")
                // A plain `swift build` (what `swift test` runs) is stamped with nothing: it says
                // "unknown" for what only the packaging script knows, and nothing false.
                let lines = version.stdout.split(separator: "\n").map(String.init)
                #expect(lines.count == 4 && lines[0] == "portpressure, version 0.1.0 (branch: unknown, revision: unknown)", "\(lines)")
                #expect(lines.dropFirst().first == "  build date:       unknown", "\(lines)")
                #expect(lines.dropFirst(2).first?.hasPrefix("  swift version:    6.") == true, "\(lines)")
            }
        }

        /// Without the sockets systemd passes, `--web.systemd-socket` refuses to start (exit 1)
        /// and says why, rather than listening somewhere else.
        @Test func systemdSocketWithoutSocketsExitsOne() throws {
            let ns = try NetworkNamespace()
            let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve", "--web.systemd-socket"])
            #expect(result.status == 1, "exit \(result.status), stderr: \(result.stderr)")
            #expect(result.stderr.contains("LISTEN_FDS are not set"), "\(result.stderr)")
        }
    }
}
