import Foundation
import Testing
import NetworkNamespaces
import TestSupport

@Suite struct SocketCountsTests {
    // Recorded on Linux 6.18 in a test namespace.
    static let sockstat = """
    sockets: used 4471
    TCP: inuse 12 orphan 3 tw 7 alloc 4100 mem 18
    UDP: inuse 5 mem 2
    UDPLITE: inuse 0
    RAW: inuse 0
    FRAG: inuse 0 memory 0

    """
    static let sockstat6 = """
    TCP6: inuse 4
    UDP6: inuse 2
    UDPLITE6: inuse 0
    RAW6: inuse 0
    FRAG6: inuse 0 memory 0

    """

    @Test func parsesTheNamespacesCounts() throws {
        let counts = try SocketCounts.parse(sockstat: Self.sockstat, sockstat6: Self.sockstat6)
        #expect(counts == SocketCounts(tcp4InUse: 12, tcp6InUse: 4, tcpTimeWait: 7, udp4InUse: 5, udp6InUse: 2))
        #expect(counts.tcp == 23)
        #expect(counts.udp == 7)
    }

    @Test func missingCountsAreErrors() {
        #expect(throws: SocketCountsError.missing(line: "TCP6", field: "inuse")) {
            try SocketCounts.parse(sockstat: Self.sockstat, sockstat6: "")
        }
        #expect(throws: SocketCountsError.missing(line: "TCP", field: "tw")) {
            try SocketCounts.parse(sockstat: "TCP: inuse 1\nUDP: inuse 1\n", sockstat6: Self.sockstat6)
        }
        #expect(throws: SocketCountsError.missing(line: "UDP", field: "inuse")) {
            try SocketCounts.parse(sockstat: "TCP: inuse 1 tw 0\nUDP: inuse x\n", sockstat6: Self.sockstat6)
        }
        #expect(throws: SocketCountsError.missing(line: "TCP", field: "inuse")) {
            try SocketCounts.parse(sockstat: "TCP: inuse 9223372036854775807 tw 0\nUDP: inuse 1\n", sockstat6: Self.sockstat6)
        }
    }
}

@Suite struct CostRuleTests {
    static func counts(tcp: Int = 0, timeWait: Int = 0, udp: Int = 0) -> SocketCounts {
        SocketCounts(tcp4InUse: tcp, tcp6InUse: 0, tcpTimeWait: timeWait, udp4InUse: udp, udp6InUse: 0)
    }

    @Test func socketsUpToATenthOfTheLimitGetABound() {
        let decision = CostRule.decide(counts: Self.counts(tcp: 60, timeWait: 40, udp: 3), limit: 1000)
        #expect(decision == CollectionDecision(tcp: .bound(0.1), udp: .bound(0.003)))
        #expect(!decision.needsDump)
    }

    @Test func moreThanATenthGetsExactFigures() {
        let decision = CostRule.decide(counts: Self.counts(tcp: 60, timeWait: 41, udp: 3), limit: 1000)
        #expect(decision == CollectionDecision(tcp: .exact, udp: .bound(0.003)))
        #expect(decision.figures(.tcp) == .exact && decision.figures(.udp) == .bound(0.003))
        #expect(decision.needsDump)
        // The host's default range, 28,232 ports: 10% is 2,823.2.
        #expect(CostRule.decide(counts: Self.counts(udp: 2_823), limit: 28_232).udp == .bound(2_823.0 / 28_232))
        #expect(CostRule.decide(counts: Self.counts(udp: 2_824), limit: 28_232).udp == .exact)
        #expect(CostRule.decide(counts: Self.counts(udp: 2_823), limit: 28_229).udp == .exact)
    }

    @Test func timeWaitCountsAgainstTheLimit() {
        // TIME_WAIT sockets hold their ports: 101 of them in a 1000-port range need a dump.
        #expect(CostRule.decide(counts: Self.counts(timeWait: 101), limit: 1000).tcp == .exact)
    }

    @Test func aFullyReservedRangeIsAlwaysDumped() {
        #expect(CostRule.decide(counts: Self.counts(), limit: 0) == CollectionDecision(tcp: .exact, udp: .exact))
    }

    @Test func emptyNamespaceIsBoundedAtZero() {
        #expect(CostRule.decide(counts: Self.counts(), limit: 28_232) == CollectionDecision(tcp: .bound(0), udp: .bound(0)))
    }

    @Test func boundsWhateverTheCounts() {
        // What a namespace whose dump failed exports: the bound even above a tenth of the limit.
        #expect(CostRule.bounds(counts: Self.counts(tcp: 60, timeWait: 41, udp: 3), limit: 1000)
            == CollectionDecision(tcp: .bound(0.101), udp: .bound(0.003)))
        // A limit of 0 counts as 1.
        #expect(CostRule.bounds(counts: Self.counts(tcp: 2, udp: 5), limit: 0) == CollectionDecision(tcp: .bound(2), udp: .bound(5)))
    }

    static func id(_ inode: UInt64) -> NamespaceID { NamespaceID(device: 4, inode: inode) }

    @Test func rankingKeepsTheHighestPressureFirst() {
        let all = [
            NamespacePressure(id: Self.id(10), pressure: 0.02),
            NamespacePressure(id: Self.id(11), pressure: 0.97),
            NamespacePressure(id: Self.id(12), pressure: 0.5),
            NamespacePressure(id: Self.id(13), pressure: 0.5),
            NamespacePressure(id: Self.id(9), pressure: 0),
        ]
        let (kept, omitted) = NamespaceRanking.select(all, maximum: 3)
        #expect(kept.map(\.id.inode) == [11, 12, 13])
        #expect(omitted.map(\.id.inode) == [10, 9])
        #expect(NamespaceRanking.select(all, maximum: nil).exported.map(\.id.inode) == [11, 12, 13, 10, 9])
        #expect(NamespaceRanking.select(all, maximum: 0).exported.isEmpty)
        #expect(NamespaceRanking.select(all, maximum: 99).omitted.isEmpty)
        // The order of the input does not change the choice.
        #expect(NamespaceRanking.select(all.reversed(), maximum: 3).exported == kept)
    }
}

@Suite struct PrivilegesTests {
    @Test func parsesCapEff() {
        let status = "Name:\tportpressure\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000280000\n"
        #expect(NamespacePrivileges.effective(status: status) == 0x28_0000)
        #expect(NamespacePrivileges.missing(effective: 0x28_0000).isEmpty)  // bits 19 and 21
        #expect(NamespacePrivileges.effective(status: "Name:\tx\n") == nil)
        #expect(NamespacePrivileges.effective(status: "CapEff:\tzz\n") == nil)
    }

    @Test func namesWhatIsMissing() {
        #expect(NamespacePrivileges.missing(effective: 0) == [.sysAdmin, .sysPtrace])
        #expect(NamespacePrivileges.missing(effective: 1 << 21) == [.sysPtrace])
        #expect(NamespacePrivileges.missing(effective: 1 << 19) == [.sysAdmin])
        // CAP_NET_ADMIN (12) and CAP_NET_RAW (13) are not enough.
        #expect(NamespacePrivileges.missing(effective: 1 << 12 | 1 << 13) == [.sysAdmin, .sysPtrace])
    }

    @Test func errorSaysWhatIsMissingWhyAndHowToGrantIt() {
        let error = PrivilegeError(missing: [.sysPtrace], detail: nil)
        #expect(error.description.hasPrefix("--collector.netns needs CAP_SYS_PTRACE, and this process lacks it."))
        #expect(error.description.contains("AmbientCapabilities=CAP_SYS_ADMIN CAP_SYS_PTRACE"))
        #expect(error.description.contains("hostPID: true"))
        #expect(PrivilegeError(missing: [.sysAdmin, .sysPtrace], detail: nil).description
            .hasPrefix("--collector.netns needs CAP_SYS_ADMIN and CAP_SYS_PTRACE, and this process lacks them."))
    }

    @Test func aProcessWithoutTheCapabilitiesFailsTheCheck() throws {
        // A real unprivileged process (root dropped to nobody by setpriv): its status shows
        // CapEff 0, and the check on it names both capabilities.
        let process = try RunningProcess(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                          "sh", "-c", "echo dropped; exec sleep 600"])
        defer { process.stop() }
        _ = try process.waitForLine(startingWith: "dropped")
        #expect(throws: PrivilegeError(missing: [.sysAdmin, .sysPtrace], detail: nil)) {
            try NamespacePrivileges.check(statusPath: "/proc/\(process.pid)/status")
        }
    }

    @Test func readsAStatusFile() throws {
        // As root with every capability (the test environment), the check passes; a status
        // file without the bits fails with both named.
        try NamespacePrivileges.check()
        let path = "/tmp/pp-status-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        try "CapEff:\t0000000000001000\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: PrivilegeError(missing: [.sysAdmin, .sysPtrace], detail: nil)) { try NamespacePrivileges.check(statusPath: path) }
        #expect(throws: PrivilegeError.self) { try NamespacePrivileges.check(statusPath: path + ".absent") }
    }
}
