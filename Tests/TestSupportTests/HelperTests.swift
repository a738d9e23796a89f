import Testing
import TestSupport

@Suite struct HelperTests {
    /// The published SplitMix64 sequence for seed 0, so every randomized test's seed means
    /// what it meant before.
    @Test func splitMix64MatchesTheReferenceSequence() {
        var rng = SplitMix64(state: 0)
        #expect(rng.next() == 0xe220_a839_7b1d_cdaf)
        #expect(rng.next() == 0x6e78_9e6a_a1b9_65f4)
        #expect(rng.next() == 0x06c4_5d18_8009_454f)
    }

    @Test func waitUntilReturnsOnceTrueAndReportsTimeoutsAndErrors() throws {
        var calls = 0
        try waitUntil("three calls") { calls += 1; return calls == 3 }
        #expect(calls == 3)
        struct NotYet: Error {}
        #expect {
            try waitUntil("never", timeout: .milliseconds(30)) { throw NotYet() }
        } throws: { error in
            "\(error)".contains("never") && "\(error)".contains("NotYet")
        }
        var stops = 0
        #expect(throws: StopWaiting.self) { try waitUntil(timeout: .seconds(10)) { stops += 1; throw StopWaiting("gone") } }
        #expect(stops == 1)
        #expect(!eventually(timeout: .milliseconds(20)) { false })
    }

    /// A child's output is waited for as an event, and its end is seen when it exits.
    @Test func runningProcessWaitsForOutputAndExit() throws {
        let child = try RunningProcess(["sh", "-c", "echo first; read line; echo \"got $line\" >&2; exit 3"])
        #expect(try child.waitForLine(startingWith: "first", timeout: 10) == "first")
        #expect(child.waitForExit(timeout: .milliseconds(50)) == nil)
        #expect(child.isRunning)
        child.closeInput()
        #expect(child.waitForExit(timeout: .seconds(10)) == .exited(3))
        #expect(child.waitForOutput(.stderr, timeout: .seconds(10)) { $0 == "got \n" })
        #expect(child.stop() == 3)
        #expect(throws: NetworkNamespace.Failure.self) { try child.waitForLine(startingWith: "never", timeout: 10) }
    }

    @Test func processResultPassesBytesBothWays() throws {
        let bytes: [UInt8] = Array(0...255) + Array(repeating: 7, count: 200_000)
        let result = try ProcessResult.run(["cat"], inputBytes: bytes)
        #expect(result.status == 0 && result.stdoutBytes == bytes)
        #expect(try ProcessResult.run(["sh", "-c", "exit 4"]).status == 4)
    }
}
