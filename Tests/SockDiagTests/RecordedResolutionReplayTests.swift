import Foundation
import PortPressure
import Snapshotting
import Testing
@testable import SockDiag
import SocketModel

/// A recording holds what the pipeline resolved after its dumps (which socket of a duplicate
/// UDP 4-tuple receives, owners' cgroup paths), so a replay prints what the live run printed,
/// whatever the lookup answered, table and JSON alike.
@Suite struct RecordedResolutionReplayTests {
    static let range = EphemeralRange(low: 32768, high: 60999)

    /// Two connected UDP sockets on one 4-tuple; the first's cgroup resolves, the second's not.
    static func duplicate(inode: UInt32, cookie: UInt64, cgroupID: UInt64) -> SocketRecord {
        SocketRecord(proto: .udp, family: .ipv4, state: .established,
                     local: SocketEndpoint(address: .ipv4Loopback, port: 40000),
                     remote: SocketEndpoint(address: IPAddress("127.0.0.9")!, port: 53),
                     interfaceIndex: 0, uid: 1000, inode: inode, cookie: cookie, cgroupID: cgroupID)
    }

    enum KernelAnswer: String, CaseIterable { case second, outside, none, refused }

    /// What the lookup comes back with, and what the snapshot must then say.
    static func reply(_ answer: KernelAnswer, second: SocketRecord) -> (ScriptedTransport.Reply, ReceiverLookup) {
        switch answer {
        case .second:
            return (.datagrams { [WireBuilder.sockDiagMessage(second, flags: 0, sequence: $0)] }, .socket(cookie: second.cookie))
        case .outside:
            var wildcard = second
            wildcard.cookie = 999
            return (.datagrams { [WireBuilder.sockDiagMessage(wildcard, flags: 0, sequence: $0)] }, .socket(cookie: 999))
        case .none:
            return (.datagrams { [WireBuilder.error(-2, sequence: $0)] }, .noSocket)
        case .refused:
            return (.datagrams { [WireBuilder.error(-1, sequence: $0)] },
                    .failed("kernel refused lookup udp 127.0.0.1:40000 <- 127.0.0.9:53: Operation not permitted (errno 1)"))
        }
    }

    @Test(arguments: KernelAnswer.allCases)
    func replayResolvesWhatTheLiveRunResolved(_ answer: KernelAnswer) throws {
        // A cgroup tree of one directory: its inode is the cgroup id that resolves.
        let root = temporaryPath("cgroups")
        try FileManager.default.createDirectory(atPath: root + "/svc.slice", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var info = stat()
        try #require(stat(root + "/svc.slice", &info) == 0)
        let first = Self.duplicate(inode: 11, cookie: 101, cgroupID: UInt64(info.st_ino))
        let second = Self.duplicate(inode: 12, cookie: 102, cgroupID: 0xdead_beef)
        let (lookupReply, receiver) = Self.reply(answer, second: second)
        let kernel = ScriptedTransport(answering: { request, _ in
            let flags = UInt16(request[6]) | UInt16(request[7]) << 8
            if flags & NetlinkWire.flagDump == 0 { return [lookupReply] }
            // A dump: UDP over IPv4 holds the pair; every other table is empty.
            let udp4 = UInt16(request[4]) | UInt16(request[5]) << 8 == NetlinkWire.sockDiagByFamily
                && request[16] == AddressFamily.ipv4.rawValue && request[17] == TransportProtocol.udp.rawValue
            return [.datagrams { sequence in
                (udp4 ? [WireBuilder.sockDiagMessage(first, sequence: sequence) + WireBuilder.sockDiagMessage(second, sequence: sequence)] : [])
                    + [WireBuilder.done(sequence: sequence)]
            }]
        })

        let path = temporaryPath("resolutions.ppsd")
        defer { unlink(path) }
        let recorder = try DumpRecorder(path: path)
        let live = try HostSnapshotter(client: SockDiagClient(transport: kernel), cgroups: CgroupPathResolver(root: root), recorder: recorder)
            .take(options: AnalysisOptions(), range: Self.range)
        try recorder.close()
        let replayed = try RecordedSnapshotSource(path: path, range: Self.range).take(options: AnalysisOptions(), range: Self.range)

        // The live run resolved something a recording of the dumps alone could not say.
        #expect(live.snapshot.udpDuplicates.map(\.receiver) == [receiver])
        #expect(live.snapshot.owners.map(\.cgroupPath).contains("/svc.slice"))
        #expect(replayed.snapshot.udpDuplicates.map(\.receiver) == [receiver])
        #expect(replayed.snapshot == live.snapshot)
        #expect(replayed.statistics == live.statistics)
        let liveJSON = try ReportJSON(live.snapshot).encoded(pretty: true)
        let replayedJSON = try ReportJSON(replayed.snapshot).encoded(pretty: true)
        #expect(String(decoding: replayedJSON, as: UTF8.self) == String(decoding: liveJSON, as: UTF8.self))
        #expect(ReportTable(replayed.snapshot).render() == ReportTable(live.snapshot).render())
    }
}
