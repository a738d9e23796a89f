#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

extension EndToEnd {
    /// Issue 9: a recording holds everything the live report used, so `report --replay` of it
    /// prints, byte for byte, what the `report --record` that made it printed: which socket of
    /// each duplicate UDP 4-tuple receives and owners' cgroup paths included, which only the
    /// live run can ask of the kernel and of cgroupfs.
    @Suite struct RecordReplay {
        static let portRange = "20000 29999"
        static let reservedPorts = "20100-20199,25000"

        @Test func replayOfARecordingPrintsTheLiveReport() throws {
            let ns = try NetworkNamespace()
            try ns.setPortRange(low: 20000, high: 29999, reserved: Self.reservedPorts)
            // Duplicate UDP 4-tuples (pairs bound with SO_REUSEADDR, both connected to one
            // remote end), in both families, beside a little TCP.
            let lab = try ns.launch([BuiltProducts.path("socketlab"),
                                     "--make", "udp-dup:3:127.0.0.1:5353", "--make", "udp-dup:2:[::1]:5353",
                                     "--make", "listen:1:127.0.0.1:8080", "--make", "tcp:5:127.0.0.1:8080"])
            defer { lab.stop() }
            _ = try lab.waitForLine(startingWith: "READY", timeout: 60)

            let recording = "/tmp/portpressure-record-replay-\(getpid())"
            defer { unlink(recording + ".json.ppsd"); unlink(recording + ".table.ppsd") }
            func report(_ format: String, _ source: [String]) throws -> ProcessResult {
                let result = try ns.spawn(["timeout", "20", BuiltProducts.path("portpressure"), "report",
                                           "--format", format, "--color", "never"] + source)
                #expect(result.status == 0, "\(format) \(source): \(result.stderr)")
                return result
            }
            let replayRange = ["--port-range", Self.portRange, "--reserved-ports", Self.reservedPorts]
            for format in ["json", "table"] {
                let file = recording + ".\(format).ppsd"
                let live = try report(format, ["--record", file])
                let replayed = try report(format, ["--replay", file] + replayRange)
                #expect(!live.stdoutBytes.isEmpty)
                #expect(replayed.stdoutBytes == live.stdoutBytes, "\(format): the replay differs:\n\(live.stdout)\n---\n\(replayed.stdout)")
                guard format == "json" else {
                    #expect(live.stdout.contains(" yes") && live.stdout.contains("no (overshadowed)"), "\(live.stdout)")
                    continue
                }
                // The output names the socket that really receives each tuple's datagrams (as
                // a datagram proves), which the replay can only know from the recording.
                let document = try ReportDocument(json: live.stdout)
                #expect(document.duplicates.count == 5 && document.duplicates.values.allSatisfy { $0.count == 2 })
                #expect(document.receivers.count == 5, "a receiver is unknown: \(document.receivers)")
                #expect(document.receivers.values.allSatisfy { $0 != nil })
                let observed = try observeUDPReceivers(in: ns, tuples: Array(document.duplicates.keys))
                #expect(document.receivers == observed)
                // And the owners' cgroup path, resolved live from cgroupfs.
                let cgroup = try ownCgroupPath()
                #expect(document.owners.keys.contains { $0.uid != nil && $0.cgroup == cgroup }, "\(document.owners.keys)")
            }
        }
    }
}
