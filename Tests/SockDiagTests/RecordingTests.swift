#if canImport(Glibc)
import Glibc
#endif
import PortPressure
import Snapshotting
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

    mutating func lookup(_ lookup: ExactLookup, _ answer: LookupAnswer) {
        unfinished += DumpRecordingFormat.lookupFrame(lookup, answer)!
        frames += 1
    }

    mutating func cgroup(_ id: UInt64, _ path: String?) {
        unfinished += DumpRecordingFormat.cgroupFrame(id: id, path: path)!
        frames += 1
    }

    /// A frame of any bytes (a damaged one, for tests of refusals).
    mutating func raw(kind: UInt8, proto: TransportProtocol = .udp, family: AddressFamily?, payload: [UInt8]) {
        unfinished += DumpRecordingFormat.frameHeader(kind: kind, proto: proto, family: family, length: payload.count) + payload
        frames += 1
    }
}

func replay(_ bytes: [UInt8]) throws(SockDiagError) -> (records: [SocketRecord], restarts: Int, statistics: DumpStatistics) {
    var records: [SocketRecord] = []
    let statistics = try DumpReplay.replay(bytes: bytes) { records.append($0) }.statistics
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

/// Kind 5 (lookup answers) and kind 6 (cgroup paths): what the live pipeline resolved after
/// its dumps, so that a replay resolves the same.
@Suite struct RecordedResolutionFormatTests {
    static let v4Lookup = ExactLookup(proto: .udp, local: .at("127.0.0.1", 5353), remote: .at("127.0.0.9", 53), interfaceIndex: 1)
    static let v6Lookup = ExactLookup(proto: .udp, local: .at("fe80::1", 5353), remote: .at("fe80::2", 53), interfaceIndex: 7)

    /// One dump, then resolutions: a fixed layout to break, frame by frame.
    static func recording(then resolutions: (inout RecordingBuilder) -> Void) -> [UInt8] {
        var r = RecordingBuilder()
        r.dump(.udp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.done(), .udp, .ipv4)
        resolutions(&r)
        return r.bytes
    }

    func refusal(_ bytes: [UInt8]) -> String? {
        do throws(SockDiagError) {
            _ = try DumpReplay.replay(bytes: bytes) { _ in }
            return nil
        } catch {
            guard case let .malformed(message) = error else { return "\(error)" }
            return message
        }
    }

    @Test func answersAndPathsRoundTrip() throws {
        let answers: [(ExactLookup, LookupAnswer)] = [
            (Self.v4Lookup, .socket(cookie: 0xfedc_ba98_7654_3210)),
            (Self.v6Lookup, .noSocket),
            (ExactLookup(proto: .udp, local: .at("2001:db8::1", 1), remote: .at("2001:db8::2", 65535)),
             .failed("kernel refused lookup: Operation not permitted (errno 1) — ü")),
            (ExactLookup(proto: .tcp, local: .at("10.0.0.1", 80), remote: .at("10.0.0.2", 40000)), .failed("")),
        ]
        let paths: [(UInt64, String?)] = [(1, "/"), (4242, "/system.slice/nginx.service"), (UInt64.max, nil), (7, "/a b/ü")]
        var r = RecordingBuilder()
        r.dump(.udp, .ipv4)
        r.datagram(WireBuilder.sockDiagMessage(Samples.v4Established) + WireBuilder.done(), .udp, .ipv4)
        for (lookup, answer) in answers { r.lookup(lookup, answer) }
        for (id, path) in paths { r.cgroup(id, path) }
        var records: [SocketRecord] = []
        let replayed = try DumpReplay.replay(bytes: r.bytes) { records.append($0) }
        #expect(records.count == 1 && replayed.statistics.records == 1)
        #expect(replayed.resolutions.lookups == Dictionary(uniqueKeysWithValues: answers.map { ($0.0, $0.1) }))
        for (id, path) in paths { #expect(replayed.resolutions.cgroupPath(for: id) == path) }
        #expect(replayed.resolutions.cgroupPaths.count == paths.count)
        // Not recorded: no answer, no path.
        #expect(replayed.resolutions.answer(to: ExactLookup(proto: .udp, local: Self.v4Lookup.local, remote: Self.v4Lookup.remote)) == nil)
        #expect(replayed.resolutions.cgroupPath(for: 2) == nil)
        // The trailer counts the new frames like any other: one fewer and the file is refused.
        let counted = r.unfinished + DumpRecordingFormat.trailer(frames: r.frames - 1, dumps: r.dumps, offset: r.unfinished.count)
        #expect(refusal(counted) == "trailer at offset \(r.unfinished.count) counts \(r.frames - 1) frames and 1 dumps, the recording has \(r.frames) and 1")
    }

    /// A recording of a dump alone (as every recording before kinds 5 and 6) resolves nothing.
    @Test func aRecordingWithoutResolutionsAnswersNothing() throws {
        let replayed = try DumpReplay.replay(bytes: Self.recording { _ in }) { _ in }
        #expect(replayed.resolutions == RecordedResolutions())
        let fixture = try DumpReplay.replay(fileAt: fixturesDirectory + "/population.ppsd") { _ in }
        #expect(fixture.resolutions == RecordedResolutions())
    }

    @Test func resolutionsBeforeTheLastRestartAreVoid() throws {
        var r = RecordingBuilder()
        r.dump(.udp, .ipv4)
        r.datagram(WireBuilder.done(), .udp, .ipv4)
        r.lookup(Self.v4Lookup, .noSocket)
        r.cgroup(4242, "/old")
        r.restart()
        r.dump(.udp, .ipv4)
        r.datagram(WireBuilder.done(), .udp, .ipv4)
        r.cgroup(4242, "/new")
        let replayed = try DumpReplay.replay(bytes: r.bytes) { _ in }
        #expect(replayed.resolutions.lookups.isEmpty)
        #expect(replayed.resolutions.cgroupPaths == [4242: "/new"])
    }

    /// What the format cannot hold is refused when written, never cut.
    @Test func whatTheFormatCannotHoldIsRefused() throws {
        let long = String(repeating: "x", count: DumpRecordingFormat.maximumText + 1)
        #expect(DumpRecordingFormat.lookupFrame(Self.v4Lookup, .failed(long)) == nil)
        #expect(DumpRecordingFormat.cgroupFrame(id: 1, path: long) == nil)
        #expect(DumpRecordingFormat.lookupFrame(ExactLookup(proto: .udp, local: Self.v4Lookup.local, remote: Self.v6Lookup.remote), .noSocket) == nil)
        let longest = String(repeating: "x", count: DumpRecordingFormat.maximumText)
        let replayed = try DumpReplay.replay(bytes: Self.recording { $0.lookup(Self.v4Lookup, .failed(longest)); $0.cgroup(1, longest) }) { _ in }
        #expect(replayed.resolutions.answer(to: Self.v4Lookup) == .failed(longest))
        #expect(replayed.resolutions.cgroupPath(for: 1) == longest)

        let path = temporaryPath("unrecordable.ppsd")
        defer { unlink(path) }
        let recorder = try DumpRecorder(path: path)
        #expect(throws: SockDiagError.self) { try recorder.record(Self.v4Lookup, answer: .failed(long)) }
        #expect(throws: SockDiagError.self) { try recorder.recordCgroup(id: 1, path: long) }
        try recorder.record(Self.v4Lookup, answer: .socket(cookie: 5))
        try recorder.recordCgroup(id: 9, path: nil)
        try recorder.close()
        let written = try DumpReplay.replay(fileAt: path) { _ in }
        #expect(written.resolutions.lookups == [Self.v4Lookup: .socket(cookie: 5)])
        #expect(written.resolutions.cgroupPaths == [9: String?.none])
    }

    /// Cut, of the wrong length, of an unknown answer, not UTF-8, repeated or inside a dump:
    /// refused, saying why and where.
    @Test func damagedResolutionFramesAreRefused() throws {
        let lookup = DumpRecordingFormat.lookupFrame(Self.v4Lookup, .socket(cookie: 77))!
        let lookupPayload = Array(lookup.dropFirst(8))
        let noSocketPayload = Array(DumpRecordingFormat.lookupFrame(Self.v4Lookup, .noSocket)!.dropFirst(8))
        let failedPayload = Array(DumpRecordingFormat.lookupFrame(Self.v4Lookup, .failed("why"))!.dropFirst(8))
        let cgroupPayload = Array(DumpRecordingFormat.cgroupFrame(id: 4242, path: "/a")!.dropFirst(8))
        let unknownPayload = Array(DumpRecordingFormat.cgroupFrame(id: 4242, path: nil)!.dropFirst(8))
        #expect(lookupPayload.count == 4 + 2 + 4 + 2 + 4 + 1 + 8)
        #expect(unknownPayload.count == 8 + 1)
        let kind5 = DumpRecordingFormat.kindLookup, kind6 = DumpRecordingFormat.kindCgroup
        let cases: [(String, [UInt8], String)] = [
            ("lookup cut short", Self.recording { $0.raw(kind: kind5, family: .ipv4, payload: Array(lookupPayload.dropLast())) },
             "lookup answer 1 with 7 bytes at offset"),
            ("lookup cut to its addresses", Self.recording { $0.raw(kind: kind5, family: .ipv4, payload: Array(lookupPayload.prefix(12))) },
             "lookup frame of 12 bytes, family 2, at offset"),
            ("cookie and a byte more", Self.recording { $0.raw(kind: kind5, family: .ipv4, payload: lookupPayload + [0]) },
             "lookup answer 1 with 9 bytes at offset"),
            ("no socket, with a byte", Self.recording { $0.raw(kind: kind5, family: .ipv4, payload: noSocketPayload + [0]) },
             "lookup answer 0 with 1 bytes at offset"),
            ("IPv4 payload said to be IPv6", Self.recording { $0.raw(kind: kind5, family: .ipv6, payload: lookupPayload) },
             "lookup frame of 25 bytes, family 10, at offset"),
            ("lookup of family 0", Self.recording { $0.raw(kind: kind5, family: nil, payload: lookupPayload) },
             "lookup frame of 25 bytes, family 0, at offset"),
            ("unknown answer", Self.recording { $0.raw(kind: kind5, family: .ipv4, payload: noSocketPayload.dropLast() + [3]) },
             "lookup answer 3 with 0 bytes at offset"),
            ("reason not UTF-8", Self.recording { $0.raw(kind: kind5, family: .ipv4, payload: failedPayload + [0xff]) },
             "lookup failure reason not UTF-8 at offset"),
            ("cgroup without its known byte", Self.recording { $0.raw(kind: kind6, proto: .tcp, family: nil, payload: Array(unknownPayload.prefix(8))) },
             "cgroup frame of 8 bytes, family 0, at offset"),
            ("unknown cgroup with a path", Self.recording { $0.raw(kind: kind6, proto: .tcp, family: nil, payload: unknownPayload + [0x2f]) },
             "cgroup frame known 0 with 1 path bytes at offset"),
            ("cgroup known 2", Self.recording { $0.raw(kind: kind6, proto: .tcp, family: nil, payload: Array(cgroupPayload.prefix(8)) + [2]) },
             "cgroup frame known 2 with 0 path bytes at offset"),
            ("cgroup of family 2", Self.recording { $0.raw(kind: kind6, proto: .tcp, family: .ipv4, payload: cgroupPayload) },
             "cgroup frame of 11 bytes, family 2, at offset"),
            ("path not UTF-8", Self.recording { $0.raw(kind: kind6, proto: .tcp, family: nil, payload: cgroupPayload + [0xc3]) },
             "cgroup path not UTF-8 at offset"),
            ("answered twice", Self.recording { $0.lookup(Self.v4Lookup, .noSocket); $0.lookup(Self.v4Lookup, .noSocket) },
             "lookup udp 127.0.0.1:5353 <- 127.0.0.9:53 if 1 answered twice, at offset"),
            ("resolved twice", Self.recording { $0.cgroup(1, "/"); $0.cgroup(1, nil) },
             "cgroup id 1 resolved twice, at offset"),
        ]
        for (name, bytes, message) in cases {
            let got = refusal(bytes)
            #expect(got?.hasPrefix(message) == true, "\(name): \(got ?? "accepted")")
        }

        // Inside a dump: before its NLMSG_DONE.
        var inside = RecordingBuilder()
        inside.dump(.udp, .ipv4)
        inside.datagram(WireBuilder.sockDiagMessage(Samples.v4Established), .udp, .ipv4)
        inside.lookup(Self.v4Lookup, .noSocket)
        inside.datagram(WireBuilder.done(), .udp, .ipv4)
        #expect(refusal(inside.bytes)?.hasPrefix("resolution frame inside a dump") == true, "\(refusal(inside.bytes) ?? "accepted")")

        // A recording cut inside a resolution frame, and one whose frame claims more than is there.
        var whole = RecordingBuilder()
        whole.lookup(Self.v4Lookup, .socket(cookie: 77))
        let frameStart = DumpRecordingFormat.headerSize
        #expect(refusal(Array(whole.unfinished.dropLast(3)))?.hasPrefix("frame length 25 exceeds the recording at offset \(frameStart)") == true)
        var longer = whole.bytes
        longer[frameStart + 4] = 26   // the length now swallows the trailer's first byte
        #expect(refusal(longer) != nil)
        // A void resolution frame (before a restart) is checked too.
        var void = RecordingBuilder()
        void.raw(kind: kind5, family: .ipv4, payload: Array(lookupPayload.dropLast()))
        void.restart()
        #expect(refusal(void.bytes)?.hasPrefix("lookup answer 1 with 7 bytes") == true)
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
        let statistics = try DumpReplay.replay(fileAt: populationPath) { replayed.append($0) }.statistics
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

    /// A duplicate UDP 4-tuple (SO_REUSEADDR) through the whole pipeline: the recording holds
    /// which socket receives and the owners' cgroup paths, and replays to the live snapshot.
    /// With PP_RECORD_FIXTURES=1 it is also written to Fixtures/udp-duplicates.ppsd.
    @Test func snapshotWithDuplicateTuplesReplaysWithWhatItResolved() throws {
        let path = temporaryPath("udp-duplicates.ppsd")
        defer { unlink(path) }
        let range = EphemeralRange(low: 32768, high: 60999)
        let (live, cookies) = try NetworkNamespace().run { () -> (TakenSnapshot, Set<UInt64>) in
            let peer = try TestSocket(.ipv4, .udp)
            try peer.bind(.at("127.0.0.1", 0))
            let first = try TestSocket(.ipv4, .udp)
            try first.setOption(SOL_SOCKET, SO_REUSEADDR)
            try first.bind(.at("127.0.0.1", 0))
            let second = try TestSocket(.ipv4, .udp)
            try second.setOption(SOL_SOCKET, SO_REUSEADDR)
            try second.bind(try first.localEndpoint())
            try first.connect(try peer.localEndpoint())
            try second.connect(try peer.localEndpoint())
            let recorder = try DumpRecorder(path: path)
            let taken = try HostSnapshotter(client: try SockDiagClient(), recorder: recorder).take(options: AnalysisOptions(), range: range)
            try recorder.close()
            return (taken, [try first.cookie(), try second.cookie()])
        }
        let duplicate = try #require(live.snapshot.udpDuplicates.first)
        #expect(live.snapshot.udpDuplicates.count == 1 && Set(duplicate.sockets.map(\.cookie)) == cookies)
        guard case let .socket(cookie) = duplicate.receiver else { Issue.record("receiver \(duplicate.receiver)"); return }
        #expect(cookies.contains(cookie))
        #expect(live.snapshot.owners.contains { $0.cgroupPath != nil }, "no cgroup path resolved: \(live.snapshot.owners)")
        let replayed = try RecordedSnapshotSource(path: path, range: range).take(options: AnalysisOptions(), range: range)
        #expect(replayed.snapshot == live.snapshot)
        #expect(replayed.statistics == live.statistics)
        if let env = getenv("PP_RECORD_FIXTURES"), String(cString: env) == "1" {
            try copyFile(path, fixturesDirectory + "/udp-duplicates.ppsd")
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
        let statistics = try DumpReplay.replay(fileAt: fixturesDirectory + "/population.ppsd") { records.append($0) }.statistics
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

    /// Made by `snapshotWithDuplicateTuplesReplaysWithWhatItResolved`: a duplicate UDP 4-tuple
    /// whose receiver, and an owner whose cgroup path, only the recording's kind 5 and 6
    /// frames can tell.
    @Test func duplicatesFixtureResolvesWhatTheLiveRunResolved() throws {
        let range = EphemeralRange(low: 32768, high: 60999)
        let path = fixturesDirectory + "/udp-duplicates.ppsd"
        let taken = try RecordedSnapshotSource(path: path, range: range).take(options: AnalysisOptions(), range: range)
        let duplicate = try #require(taken.snapshot.udpDuplicates.first)
        #expect(taken.snapshot.udpDuplicates.count == 1 && duplicate.sockets.count == 2)
        #expect(duplicate.sockets.map(\.receives).sorted { $0 == true && $1 != true } == [true, false])
        #expect(taken.snapshot.owners.contains { $0.proto == .udp && $0.cgroupPath == "/" })
        let resolutions = try DumpReplay.replay(fileAt: path) { _ in }.resolutions
        #expect(resolutions.lookups.count == 1 && !resolutions.cgroupPaths.isEmpty)
    }

    @Test func multiDatagramFixtureReplaysEverySocket() throws {
        var ports: [UInt16] = []
        let statistics = try DumpReplay.replay(fileAt: fixturesDirectory + "/udp-300.ppsd") { record in
            #expect(record.proto == .udp && record.state == .close && record.remote.port == 0)
            ports.append(record.local.port)
        }.statistics
        #expect(ports.sorted() == Array(UInt16(20000)..<20300))
        #expect(statistics.bytes > 32 * 1024, "more than one 32 KiB datagram")
    }
}
