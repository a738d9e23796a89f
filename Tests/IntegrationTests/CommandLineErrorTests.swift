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
            let version = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "serve", "--version"])
            #expect(version.status == 0 && !version.stdout.isEmpty, "\(version.status) \(version.stderr)")
        }
    }
}
