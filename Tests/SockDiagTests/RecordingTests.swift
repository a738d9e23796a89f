#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SockDiag
import SocketModel
import SystemPackage
import TestSupport

/// The folder of committed recordings.
let fixturesDirectory: String = {
    var path = #filePath
    path.removeSubrange(path.lastIndex(of: "/")!...)
    return path + "/Fixtures"
}()

func temporaryPath(_ name: String) -> String {
    "/tmp/sockdiag-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
}

/// A recording built frame by frame.
struct RecordingBuilder {
    /// Header and frames, without the trailer.
    var unfinished = DumpRecordingFormat.fileHeader()
    var frames = 0
    var dumps = 0

    /// The whole recording: header, frames and the trailer counting them.
    var bytes: [UInt8] { unfinished + DumpRecordingFormat.trailer(frames: frames, dumps: dumps, offset: unfinished.count) }

    mutating func dump(_ proto: TransportProtocol, _ family: AddressFamily) {
        unfinished += DumpRecordingFormat.frameHeader(kind: DumpRecordingFormat.kindDump, proto: proto, family: family, length: 0)
        frames += 1
        dumps += 1
    }

    mutating func restart() {
        unfinished += DumpRecordingFormat.frameHeader(kind: DumpRecordingFormat.kindRestart, proto: .tcp, family: nil, length: 0)
        frames += 1
    }

    mutating func datagram(_ d: [UInt8], _ proto: TransportProtocol, _ family: AddressFamily) {
        unfinished += DumpRecordingFormat.frameHeader(kind: DumpRecordingFormat.kindDatagram, proto: proto, family: family, length: d.count) + d
        frames += 1
    }
}

func replay(_ bytes: [UInt8]) throws(SockDiagError) -> (records: [SocketRecord], restarts: Int, statistics: DumpStatistics) {
    var records: [SocketRecord] = []
    let statistics = try DumpReplay.replay(bytes: bytes) { records.append($0) }
    return (records, statistics.retries, statistics)
}

@Suite struct RecordingFormatTests {
    @Test func replaysSeveralDumpsWithTheirProtocols() throws {
        var r = RecordingBuilder()
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4Established), .tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4TimeWait) + WireBuilder.done(), .tcp, .ipv4)
        r.dump(.udp, .ipv6)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v6Listen) + WireBuilder.done(), .udp, .ipv6)
        let (records, restarts, statistics) = try replay(r.bytes)
        #expect(records.map(\.proto) == [.tcp, .tcp, .udp])
        #expect(records[0] == Samples.v4Established)
        #expect(records[2].local == Samples.v6Listen.local)
        #expect(restarts == 0)
        #expect(statistics.records == 3)
        #expect(statistics.messages == 5)
    }

    @Test func aRestartFrameVoidsEverythingBeforeIt() throws {
        var r = RecordingBuilder()
        r.dump(.udp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v6Listen) + WireBuilder.done(), .udp, .ipv4)
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4Established, flags: NetlinkWire.flagMulti | NetlinkWire.flagDumpInterrupted)
                   + WireBuilder.done(), .tcp, .ipv4)
        r.restart()
        r.dump(.udp, .ipv4)
        r.datagram(WireBuilder.done(), .udp, .ipv4)
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4TimeWait) + WireBuilder.done(), .tcp, .ipv4)
        let (records, restarts, statistics) = try replay(r.bytes)
        #expect(records == [Samples.v4TimeWait])
        #expect(restarts == 1)
        #expect(statistics.retries == 1)
        #expect(statistics.records == 1)
        // Messages of every dump, the void ones included, as the live dump counts them.
        #expect(statistics.messages == 2 + 2 + 1 + 2)
    }

    @Test func aRefusedRequestBeforeARestartCountsForNothing() throws {
        var r = RecordingBuilder()
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.error(-22), .tcp, .ipv4)
        r.restart()
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4TimeWait) + WireBuilder.done(), .tcp, .ipv4)
        let (records, _, statistics) = try replay(r.bytes)
        #expect(records == [Samples.v4TimeWait])
        #expect(statistics == DumpStatistics(records: 1, messages: 2, bytes: statistics.bytes, retries: 0))
    }

    @Test func anInterruptedDumpWithoutARestartIsMalformed() {
        var r = RecordingBuilder()
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4Established, flags: NetlinkWire.flagMulti | NetlinkWire.flagDumpInterrupted)
                   + WireBuilder.done(), .tcp, .ipv4)
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4TimeWait) + WireBuilder.done(), .tcp, .ipv4)
        #expect(throws: SockDiagError.self) { try replay(r.bytes) }
    }

    @Test func recordingThatEndsInterruptedIsReported() {
        var r = RecordingBuilder()
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.done(flags: NetlinkWire.flagMulti | NetlinkWire.flagDumpInterrupted), .tcp, .ipv4)
        #expect(throws: SockDiagError.dumpInterrupted(attempts: 1)) { try replay(r.bytes) }
    }

    @Test func emptyRecordingHasNoSockets() throws {
        #expect(try replay(RecordingBuilder().bytes).records.isEmpty)
    }

    @Test func damagedRecordingsAreMalformed() {
        var good = RecordingBuilder()
        good.dump(.tcp, .ipv4)
        good.datagram(WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.done(), .tcp, .ipv4)
        var cases: [String: [UInt8]] = [:]
        cases["no header"] = []
        cases["bad magic"] = Array("XXXX".utf8) + good.bytes.dropFirst(4)
        var version = good.bytes; version[4] = 9; cases["version"] = version
        var order = good.bytes; order[5] = order[5] == 1 ? 2 : 1; cases["byte order"] = order
        cases["truncated frame header"] = good.bytes + [1, 6, 2]
        cases["truncated payload"] = Array(good.bytes.dropLast(3))
        var kind = good.bytes; kind[8] = 7; cases["unknown kind"] = kind
        var proto = good.bytes; proto[9] = 1; cases["unknown protocol"] = proto
        var family = good.bytes; family[10] = 1; cases["unknown family"] = family
        var early = RecordingBuilder()
        early.datagram(WireBuilder.done(), .tcp, .ipv4)
        cases["datagram before dump"] = early.bytes
        var unfinished = RecordingBuilder()
        unfinished.dump(.tcp, .ipv4)
        unfinished.datagram(WireBuilder.sockDiagMessage(Samples.v4Established), .tcp, .ipv4)
        cases["ends inside a dump"] = unfinished.bytes
        var cut = unfinished
        cut.dump(.udp, .ipv4)
        cut.datagram(WireBuilder.done(), .udp, .ipv4)
        cases["dump without done"] = cut.bytes
        var empty = RecordingBuilder()
        empty.dump(.tcp, .ipv4)
        empty.datagram([], .tcp, .ipv4)
        cases["empty datagram"] = empty.bytes
        var mixed = RecordingBuilder()
        mixed.dump(.tcp, .ipv4)
        mixed.datagram(WireBuilder.done(), .udp, .ipv4)
        cases["protocol changes within a dump"] = mixed.bytes
        for (name, bytes) in cases {
            do {
                _ = try replay(bytes)
                Issue.record("\(name): replay accepted it")
            } catch {
                guard case .malformed = error else { Issue.record("\(name): \(error)"); continue }
            }
        }
        #expect(throws: Never.self) { try replay(good.bytes) }
    }

    /// Issue 11, item 5: a cut or padded recording is refused, saying where; a version 1 file
    /// (no trailer) is refused with what to do.
    @Test func aRecordingMustBeWhole() throws {
        var r = RecordingBuilder()
        r.dump(.tcp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.done(), .tcp, .ipv4)
        let boundary = r.unfinished.count
        r.dump(.udp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.done(), .udp, .ipv4)
        #expect(try replay(r.bytes).records.count == 2)
        let whole = r.bytes
        func refusal(_ bytes: [UInt8]) -> String? {
            do throws(SockDiagError) {
                _ = try replay(bytes)
                return nil
            } catch {
                guard case let .malformed(message) = error else { return "\(error)" }
                return message
            }
        }
        // Cut at a frame boundary: the first dump alone would parse, and did before the trailer.
        #expect(refusal(Array(whole[..<boundary])) == "recording ends at offset \(boundary) without its trailer: cut short, or not finished by its recorder")
        #expect(refusal(Array(whole[..<8])) == "recording ends at offset 8 without its trailer: cut short, or not finished by its recorder")
        #expect(refusal(r.unfinished) == "recording ends at offset \(r.unfinished.count) without its trailer: cut short, or not finished by its recorder")
        #expect(refusal(whole + [0, 0, 0, 0]) == "4 bytes after the trailer, at offset \(whole.count)")
        #expect(refusal(whole + whole) == "\(whole.count) bytes after the trailer, at offset \(whole.count)")
        // A frame removed from the middle: the trailer no longer adds up.
        var missing = RecordingBuilder()
        missing.dump(.tcp, .ipv4)
        missing.datagram(WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.done(), .tcp, .ipv4)
        let shifted = missing.unfinished + DumpRecordingFormat.trailer(frames: 4, dumps: 2, offset: missing.unfinished.count)
        #expect(refusal(shifted) == "trailer at offset \(missing.unfinished.count) counts 4 frames and 2 dumps, the recording has 2 and 1")
        let moved = missing.unfinished + DumpRecordingFormat.trailer(frames: 2, dumps: 1, offset: 999)
        #expect(refusal(moved)?.hasPrefix("trailer at offset \(missing.unfinished.count) says it is at offset 999") == true)
        var versionOne = whole
        versionOne[4] = 1
        #expect(refusal(versionOne) == "recording version 1 has no trailer, so a cut or padded file cannot be told from a whole one: record it again")
    }

    @Test func missingFileIsASystemError() {
        #expect(throws: SockDiagError.system(operation: "read /nonexistent/recording", errno: .noSuchFileOrDirectory)) {
            try DumpReplay.replay(fileAt: "/nonexistent/recording") { _ in }
        }
    }
}

@Suite struct LiveRecordingTests {
    /// Records the fixed population (and a 300-socket UDP table) from real sockets, replays the
    /// file, and gets exactly what the live dump saw. With PP_RECORD_FIXTURES=1 the recordings
    /// are also written to Fixtures/ (how the committed fixtures were made).
    @Test func recordedDumpReplaysToTheSameRecords() throws {
        let ns = try NetworkNamespace()
        try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
        let populationPath = temporaryPath("population.ppsd")
        let udpPath = temporaryPath("udp-300.ppsd")
        defer { unlink(populationPath); unlink(udpPath) }
        let live = try ns.run { () -> [SocketRecord] in
            let client = try SockDiagClient()
            let population = try FixedPopulation.make()
            _ = eventually(timeout: .seconds(2)) { (try? dumpEverything(client).count) == population.expected.count }
            let recorder = try DumpRecorder(path: populationPath)
            let live = try dumpEverything(client, recorder: recorder)
            try recorder.close()
            withExtendedLifetime(population) {}
            return live
        }
        // The UDP table alone, in a namespace of its own.
        let liveUDP = try NetworkNamespace().run { () -> [SocketRecord] in
            let client = try SockDiagClient()
            let sockets = try boundUDPSockets(UInt16(20000)..<20300)
            let udpRecorder = try DumpRecorder(path: udpPath)
            var liveUDP: [SocketRecord] = []
            try client.dump(DumpQuery(proto: .udp, family: .ipv4), recorder: udpRecorder) { liveUDP.append($0) }
            try udpRecorder.close()
            withExtendedLifetime(sockets) {}
            return liveUDP
        }
        var replayed: [SocketRecord] = []
        let statistics = try DumpReplay.replay(fileAt: populationPath) { replayed.append($0) }
        #expect(replayed == live)
        #expect(statistics.records == live.count)
        #expect(Set(live.map(SocketKey.init)) == FixedPopulation().expectedKeys)

        var replayedUDP: [SocketRecord] = []
        try DumpReplay.replay(fileAt: udpPath) { replayedUDP.append($0) }
        #expect(replayedUDP == liveUDP)
        #expect(liveUDP.count == 300)

        if let env = getenv("PP_RECORD_FIXTURES"), String(cString: env) == "1" {
            try copyFile(populationPath, fixturesDirectory + "/population.ppsd")
            try copyFile(udpPath, fixturesDirectory + "/udp-300.ppsd")
        }
    }

    @Test func closedRecorderFailsTheDumpWithItsErrno() throws {
        let ns = try NetworkNamespace()
        let path = temporaryPath("closed.ppsd")
        defer { unlink(path) }
        let error = try ns.run { () -> SockDiagError? in
            let recorder = try DumpRecorder(path: path)
            try recorder.close()
            do {
                try SockDiagClient().dump(DumpQuery(proto: .tcp, family: .ipv4), recorder: recorder) { _ in }
                return nil
            } catch {
                return error as? SockDiagError
            }
        }
        #expect(error == .system(operation: "write \(path)", errno: .badFileDescriptor))
    }

    func copyFile(_ from: String, _ to: String) throws {
        let bytes = try DumpReplay.readWholeFile(from)
        let fd = try FileDescriptor.open(to, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        defer { try? fd.close() }
        _ = try bytes.withUnsafeBytes { try fd.writeAll($0) }
    }
}

extension FixedPopulation {
    /// The keys of the fixed population, known before any socket exists.
    var expectedKeys: Set<SocketKey> {
        [
            SocketKey(.tcp, .listen, Self.listen4, .v4None),
            SocketKey(.tcp, .established, Self.client4Endpoint, Self.listen4),
            SocketKey(.tcp, .established, Self.listen4, Self.client4Endpoint),
            SocketKey(.tcp, .timeWait, Self.timeWaitEndpoint, Self.listen4),
            SocketKey(.tcp, .boundInactive, Self.boundOnly, .v4None),
            SocketKey(.udp, .close, Self.udpUnconnected, .v4None),
            SocketKey(.udp, .established, Self.udpConnected, Self.udpPeer),
            SocketKey(.tcp, .listen, Self.listen6, .v6None),
            SocketKey(.tcp, .established, Self.client6Endpoint, Self.listen6),
            SocketKey(.tcp, .established, Self.listen6, Self.client6Endpoint),
            SocketKey(.udp, .close, Self.udp6Unconnected, .v6None),
        ]
    }
}

/// The committed recordings, made from real sockets by `recordedDumpReplaysToTheSameRecords`.
@Suite struct FixtureReplayTests {
    @Test func populationFixtureHoldsEveryKindOfSocket() throws {
        var records: [SocketRecord] = []
        let statistics = try DumpReplay.replay(fileAt: fixturesDirectory + "/population.ppsd") { records.append($0) }
        #expect(Set(records.map(SocketKey.init)) == FixedPopulation().expectedKeys)
        #expect(records.count == 11)
        #expect(statistics.records == 11)
        #expect(statistics.messages == 11 + 4, "one NLMSG_DONE per table")
        for record in records where record.state != .timeWait {
            #expect(record.inode != 0, "\(SocketKey(record))")
            #expect(record.cgroupID != nil, "\(SocketKey(record))")
        }
        #expect(Set(records.map(\.cookie)).count == 11)
    }

    @Test func multiDatagramFixtureReplaysEverySocket() throws {
        var ports: [UInt16] = []
        let statistics = try DumpReplay.replay(fileAt: fixturesDirectory + "/udp-300.ppsd") { record in
            #expect(record.proto == .udp && record.state == .close && record.remote.port == 0)
            ports.append(record.local.port)
        }
        #expect(ports.sorted() == Array(UInt16(20000)..<20300))
        #expect(statistics.bytes > 32 * 1024, "more than one 32 KiB datagram")
    }
}
