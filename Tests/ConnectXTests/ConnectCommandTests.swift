import Foundation
import Testing
import TestSupport

/// `portpressure connect`, the command over the library.
@Suite struct ConnectCommandTests {
    static let destination = "127.0.0.1:5399"

    /// One thread while it connects and holds: with other threads sharing its descriptor
    /// table, each growth of the table (at 64, 256, 512... descriptors) waits for an RCU grace
    /// period, and `--count 2001` spent more time waiting than connecting.
    @Test func connectsAndHoldsOnOneThread() throws {
        let ns = try NetworkNamespace()
        let child = try ns.launch([BuiltProducts.path("portpressure"), "connect", "--udp", "--count", "300", "--hold", "60", Self.destination])
        defer { _ = child.stop() }
        #expect(child.waitForOutput { $0.split(separator: "\n").count >= 300 }, "stdout: \(child.stdout.prefix(200)) stderr: \(child.stderr)")
        let status = try String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)
        let threads = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }?.split(separator: "\t").last
        #expect(threads == "1", "\(status)")
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.pid)/fd").count
        #expect(descriptors >= 300, "the 300 connections are held")
    }

    @Test(arguments: ["-1", "nan", "inf", "1e30"])
    func aHoldOutOfRangeIsAUsageError(hold: String) throws {
        let child = try RunningProcess([BuiltProducts.path("portpressure"), "connect", "--udp", "--hold=\(hold)", Self.destination])
        #expect(child.waitForExit(timeout: .seconds(30)) == .exited(2))
        #expect(child.stderr.contains("--hold must be a number of seconds from 0 to 31536000"), "\(child.stderr)")
    }
}
