import Foundation
import Testing
import SocketModel
@testable import PortPressure

/// The every-namespace views (`report --all-namespaces`), pure, on hand-built snapshots.
@Suite struct NamespaceSummaryTests {
    /// A namespace with 45 ports of a 90-port limit used toward one destination (TCP dumped), and
    /// one duplicate UDP 4-tuple (UDP dumped).
    static func busy() throws -> NamespaceSummary {
        let range = try EphemeralRange.parse(portRange: "40000 40099", reservedPorts: "40090-40099")
        var analyzer = PortPressureAnalyzer(range: range)
        for port in 40000..<40045 { analyzer.add(record(.tcp, .established, "10.0.0.1:\(port)", "10.0.0.9:5432", cookie: UInt64(port))) }
        analyzer.add(record(.udp, .established, "10.0.0.1:40050", "10.0.0.53:53", cookie: 1))
        analyzer.add(record(.udp, .established, "10.0.0.1:40050", "10.0.0.53:53", cookie: 2))
        let snapshot = analyzer.finish()
        return NamespaceSummary(
            netns: 4026532400, name: "", podUID: "0f3c2a9e-1111-2222-3333-444455556666", containerID: String(repeating: "ab", count: 32),
            runtime: "containerd",
            tcp: ProtocolFigures(exact: true, pressure: NamespaceSummary.exactPressure(snapshot, .tcp), sockets: 45),
            udp: ProtocolFigures(exact: true, pressure: NamespaceSummary.exactPressure(snapshot, .udp), sockets: 2),
            snapshot: snapshot)
    }

    /// The host's namespace, not dumped: bounds only.
    static func quiet() throws -> NamespaceSummary {
        let range = try EphemeralRange.parse(portRange: "32768 60999", reservedPorts: "")
        var noSockets = PortPressureAnalyzer(range: range)
        return NamespaceSummary(
            netns: 4026531833, name: "host", podUID: nil, containerID: nil, runtime: nil,
            tcp: ProtocolFigures(exact: false, pressure: 120.0 / 28232, sockets: 120),
            udp: ProtocolFigures(exact: false, pressure: 0, sockets: 0),
            snapshot: noSockets.finish())
    }

    @Test func exactPressureIsTheBusiestDestinationOverTheLimit() throws {
        let busy = try Self.busy()
        #expect(busy.tcp.pressure == 0.5)
        #expect(busy.udp.pressure == 1.0 / 90, "two sockets of one 4-tuple hold one port")
        #expect(busy.pressure == 0.5)
        #expect(busy.udpDuplicateTuples == 1)
        #expect(try Self.quiet().udpDuplicateTuples == nil, "UDP not dumped: unknown, not zero")
    }

    @Test func theTableHasOneRowPerNamespaceAndMarksBounds() throws {
        let text = NamespacesTable([try Self.busy(), try Self.quiet()]).render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("     NETNS  NAME"))
        #expect(lines[2].contains("4026532400") && lines[2].contains("pod 0f3c2a9e-1111-2222-3333-444455556666 abababababab")
                && lines[2].contains("40000-40099") && lines[2].contains("90") && lines[2].contains("50.0%") && lines[2].hasSuffix("1"))
        #expect(lines[3].contains("host") && lines[3].contains("<=0.5%") && lines[3].contains("<=0.0%") && lines[3].hasSuffix("-"))
    }

    @Test func theJSONCarriesTheSingleNamespaceKeysAndTheIdentity() throws {
        let data = try NamespacesJSON([try Self.busy(), try Self.quiet()]).encoded(pretty: false)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let namespaces = try #require(root["namespaces"] as? [[String: Any]])
        #expect(namespaces.count == 2)
        let single = Set(try #require(try JSONSerialization.jsonObject(with: try ReportJSON(Self.busy().snapshot).encoded()) as? [String: Any]).keys)
        let identity: Set = ["netns", "name", "pod_uid", "container_id", "runtime", "tcp", "udp", "udp_duplicate_tuples_total"]
        for object in namespaces { #expect(Set(object.keys) == single.union(identity)) }
        #expect(namespaces[0]["netns"] as? Int == 4026532400)
        #expect(namespaces[0]["pod_uid"] as? String == "0f3c2a9e-1111-2222-3333-444455556666")
        #expect((namespaces[0]["tcp"] as? [String: Any])?["exact"] as? Bool == true)
        #expect((namespaces[0]["tcp"] as? [String: Any])?["pressure"] as? Double == 0.5)
        #expect(namespaces[1]["name"] as? String == "host")
        #expect(namespaces[1]["pod_uid"] is NSNull && namespaces[1]["udp_duplicate_tuples_total"] is NSNull)
        #expect((namespaces[1]["tcp"] as? [String: Any])?["exact"] as? Bool == false)
        #expect((namespaces[1]["tcp"] as? [String: Any])?["sockets"] as? Int == 120)
    }
}
