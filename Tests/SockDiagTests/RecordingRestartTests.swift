import Foundation
import PortPressure
import Snapshotting
import Testing
@testable import SockDiag
import SocketModel

/// A recording made while the kernel interrupted a dump (`NLM_F_DUMP_INTR`) replays to exactly
/// what the live run printed: the retry layer and the recording agree on what was restarted.
@Suite struct RecordingRestartTests {
    static let interrupted = NetlinkWire.flagMulti | NetlinkWire.flagDumpInterrupted
    static let range = EphemeralRange(low: 32768, high: 60999)

    /// A kernel whose first TCP dump is interrupted (it walked its tables while they changed:
    /// the interrupted reply carries a socket that is gone by the retry). Each request is
    /// answered by what it asks (a TCPDIAG_GETSOCK is TCP of both families; otherwise bytes
    /// 16 and 17 are `sdiag_family`, `sdiag_protocol`), so the script holds whatever order and
    /// number of requests the client makes.
    /// With `refusingCombined`, it answers TCPDIAG_GETSOCK with EINVAL, as kernels before 4.x do.
    static func kernel(refusingCombined: Bool = false) -> ScriptedTransport {
        var tcpDumps = 0
        return ScriptedTransport(answering: { request, _ in
            let combined = UInt16(request[4]) | UInt16(request[5]) << 8 == NetlinkWire.tcpDiagGetSock
            if combined && refusingCombined { return [.datagrams { [WireBuilder.error(-22, sequence: $0)] }] }
            let family = combined ? InetDiagWire.afUnspec : request[16]
            let proto = combined ? TransportProtocol.tcp.rawValue : request[17]
            return [.datagrams { sequence in
                if proto == TransportProtocol.tcp.rawValue {
                    tcpDumps += 1
                    if tcpDumps == 1 {
                        return [WireBuilder.sockDiagMessage(Samples.v4TimeWait, flags: interrupted, sequence: sequence)
                                + WireBuilder.sockDiagMessage(Samples.v4Established, flags: interrupted, sequence: sequence),
                                WireBuilder.done(sequence: sequence, flags: interrupted)]
                    }
                    let records = family == AddressFamily.ipv6.rawValue ? [Samples.v6Listen]
                        : family == AddressFamily.ipv4.rawValue ? [Samples.v4Established] : [Samples.v4Established, Samples.v6Listen]
                    return [records.map { WireBuilder.sockDiagMessage($0, sequence: sequence) }.reduce([], +), WireBuilder.done(sequence: sequence)]
                }
                // UDP: the established sample, decoded as UDP, in IPv4 only.
                let records = family == AddressFamily.ipv4.rawValue ? [WireBuilder.sockDiagMessage(Samples.v4Established, sequence: sequence)] : []
                return records + [WireBuilder.done(sequence: sequence)]
            }]
        })
    }

    @Test(arguments: [false, true])
    func replayOfARecordingWithAnInterruptedDumpEqualsTheLiveSnapshot(refusingCombined: Bool) throws {
        let path = temporaryPath("restart.ppsd")
        defer { unlink(path) }
        let recorder = try DumpRecorder(path: path)
        let client = SockDiagClient(transport: Self.kernel(refusingCombined: refusingCombined))
        let live = try HostSnapshotter(client: client, cgroups: CgroupPathResolver(root: nil), recorder: recorder)
            .take(options: AnalysisOptions(), range: Self.range)
        try recorder.close()
        let replayed = try RecordedSnapshotSource(path: path, range: Self.range).take(options: AnalysisOptions(), range: Self.range)

        // The live run saw the retry's sockets only: two TCP and one UDP.
        #expect(live.snapshot.sockets.map(\.count).reduce(0, +) == 3)
        #expect(live.statistics.retries == 1)
        let liveJSON = try ReportJSON(live.snapshot).encoded(pretty: true)
        let replayedJSON = try ReportJSON(replayed.snapshot).encoded(pretty: true)
        #expect(String(decoding: replayedJSON, as: UTF8.self) == String(decoding: liveJSON, as: UTF8.self))
        #expect(replayed.statistics == live.statistics)
    }
}
