import Testing
import Foundation
import SocketModel
@testable import PortPressure

func jsonObject(_ snapshot: Snapshot) throws -> [String: Any] {
    let data = try ReportJSON(snapshot).encoded()
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

func objects(_ value: Any?) throws -> [[String: Any]] {
    try #require(value as? [[String: Any]])
}

func keys(_ object: [String: Any]) -> Set<String> { Set(object.keys) }

@Suite struct ReportJSONTests {
    @Test func topLevelAndObjectKeysAreExactlyTheDocumentedOnes() throws {
        let json = try jsonObject(sampleSnapshot())
        #expect(keys(json) == ["ephemeral", "sockets", "protocols", "sources", "destinations", "destinations_total",
                               "udp_duplicates", "udp_duplicate_totals", "owners", "owners_total"])
        #expect(keys(try #require(json["ephemeral"] as? [String: Any])) == ["low", "high", "reserved", "limit"])
        for o in try objects(json["sockets"]) { #expect(keys(o) == ["proto", "family", "state", "count"]) }
        for o in try objects(json["protocols"]) { #expect(keys(o) == ["proto", "ports_used", "bound_ports"]) }
        let sources = try objects(json["sources"])
        #expect(!sources.isEmpty)
        for o in sources {
            #expect(keys(o) == ["proto", "family", "local_address", "ports_used", "sockets", "bound_ports",
                                "destinations", "destination_ports_max"])
        }
        let destinations = try objects(json["destinations"])
        #expect(!destinations.isEmpty)
        for o in destinations {
            #expect(keys(o) == ["proto", "family", "local_address", "remote_address", "remote_port", "ports_used", "sockets"])
        }
        let duplicates = try objects(json["udp_duplicates"])
        #expect(duplicates.count == 1)
        for o in duplicates {
            #expect(keys(o) == ["family", "local_address", "local_port", "remote_address", "remote_port", "sockets"])
            for s in try objects(o["sockets"]) {
                #expect(keys(s) == ["uid", "inode", "cookie", "interface_index", "receives"])
            }
        }
        for o in try objects(json["udp_duplicate_totals"]) { #expect(keys(o) == ["family", "tuples", "sockets", "overshadowed"]) }
        let owners = try objects(json["owners"])
        #expect(owners.count == 5)
        for o in owners { #expect(keys(o) == ["proto", "uid", "cgroup_id", "cgroup", "ports_used", "sockets"]) }
    }

    @Test func valuesMatchTheSnapshot() throws {
        let json = try jsonObject(sampleSnapshot())
        let ephemeral = try #require(json["ephemeral"] as? [String: Int])
        #expect(ephemeral == ["low": 40000, "high": 40099, "reserved": 11, "limit": 89])

        let sockets = try objects(json["sockets"])
        #expect(sockets.count == 28)
        let tcpStates = sockets.filter { $0["proto"] as? String == "tcp" && $0["family"] as? String == "ipv4" }
        #expect(tcpStates.compactMap { $0["state"] as? String } == SocketState.tcpStateNames)
        let udpStates = sockets.filter { $0["proto"] as? String == "udp" && $0["family"] as? String == "ipv6" }
        #expect(udpStates.compactMap { $0["state"] as? String } == ["established", "unconnected"])
        #expect(sockets.first { $0["state"] as? String == "time_wait" }?["count"] as? Int == 5)

        let sources = try objects(json["sources"])
        #expect(sources.map { "\($0["proto"]!) \($0["local_address"]!)" } == ["tcp 0.0.0.0", "tcp 10.0.0.1", "tcp 2001:db8::1", "udp 10.0.0.1"])
        let v4 = sources[1]
        #expect(v4["ports_used"] as? Int == 15)
        #expect(v4["sockets"] as? Int == 15)
        #expect(v4["bound_ports"] as? Int == 1)
        #expect(v4["destinations"] as? Int == 1)
        #expect(v4["destination_ports_max"] as? Int == 14)
        #expect(sources[2]["family"] as? String == "ipv6")

        let destinations = try objects(json["destinations"])
        #expect(destinations[0]["remote_address"] as? String == "10.0.0.2")
        #expect(destinations[0]["remote_port"] as? Int == 443)
        #expect(destinations[0]["ports_used"] as? Int == 14)
        #expect(destinations[1]["remote_address"] as? String == "2001:db8::2")
        #expect(json["destinations_total"] as? Int == 3)

        let duplicate = try #require(try objects(json["udp_duplicates"]).first)
        #expect(duplicate["local_address"] as? String == "10.0.0.1")
        #expect(duplicate["local_port"] as? Int == 40040)
        #expect(duplicate["remote_address"] as? String == "10.0.0.3")
        #expect(duplicate["remote_port"] as? Int == 53)
        let dupSockets = try objects(duplicate["sockets"])
        #expect(dupSockets.map { $0["cookie"] as? Int } == [101, 102])
        #expect(dupSockets.map { $0["uid"] as? Int } == [1000, 1001])
        #expect(dupSockets.map { $0["inode"] as? Int } == [11, 12])
        #expect(dupSockets.map { $0["receives"] as? Bool } == [false, true])
        let totals = try objects(json["udp_duplicate_totals"])
        #expect(totals.map { $0["family"] as? String } == ["ipv4", "ipv6"])
        #expect(totals.map { $0["overshadowed"] as? Int } == [1, 0])

        let owners = try objects(json["owners"])
        #expect(owners[0]["cgroup"] as? String == "/system.slice/app.service")
        #expect(owners[0]["cgroup_id"] as? Int == 7)
        #expect(owners[0]["uid"] as? Int == 1000)
        #expect(owners[1]["uid"] is NSNull)
        #expect(owners[1]["cgroup_id"] is NSNull)
        #expect(owners[1]["cgroup"] as? String == "")
        #expect(json["owners_total"] as? Int == 5)
    }

    @Test func unresolvedReceiversAreNullNotMissing() throws {
        let snapshot = analyze([
            record(.udp, .established, "[2001:db8::1]:40001", "[2001:db8::2]:53", cookie: 1),
            record(.udp, .established, "[2001:db8::1]:40001", "[2001:db8::2]:53", cookie: 2),
        ])
        let json = try jsonObject(snapshot)
        let duplicate = try #require(try objects(json["udp_duplicates"]).first)
        #expect(duplicate["family"] as? String == "ipv6")
        #expect(duplicate["local_address"] as? String == "2001:db8::1")
        for s in try objects(duplicate["sockets"]) { #expect(s["receives"] is NSNull) }
    }

    @Test func compactOutputIsStableAndSorted() throws {
        let snapshot = analyze([record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", uid: 7, inode: 3, cookie: 9)],
                               range: EphemeralRange(low: 40000, high: 40001),
                               options: AnalysisOptions(topOwners: 1))
        let text = String(decoding: try ReportJSON(snapshot).encoded(pretty: false), as: UTF8.self)
        let zeros = { (proto: String, family: String, names: [String]) in
            names.map { #"{"count":0,"family":"\#(family)","proto":"\#(proto)","state":"\#($0)"}"# }
        }
        let sockets = zeros("tcp", "ipv4", SocketState.tcpStateNames) + zeros("tcp", "ipv6", SocketState.tcpStateNames)
            + [#"{"count":1,"family":"ipv4","proto":"udp","state":"established"}"#,
               #"{"count":0,"family":"ipv4","proto":"udp","state":"unconnected"}"#]
            + zeros("udp", "ipv6", SocketState.udpStateNames)
        let expected = #"{"destinations":[{"family":"ipv4","local_address":"10.0.0.1","ports_used":1,"proto":"udp","remote_address":"10.0.0.2","remote_port":53,"sockets":1}],"#
            + #""destinations_total":1,"ephemeral":{"high":40001,"limit":2,"low":40000,"reserved":0},"#
            + #""owners":[{"cgroup":"","cgroup_id":null,"ports_used":1,"proto":"udp","sockets":1,"uid":7}],"owners_total":1,"#
            + #""protocols":[{"bound_ports":0,"ports_used":0,"proto":"tcp"},{"bound_ports":0,"ports_used":1,"proto":"udp"}],"#
            + #""sockets":[\#(sockets.joined(separator: ","))],"#
            + #""sources":[{"bound_ports":0,"destination_ports_max":1,"destinations":1,"family":"ipv4","local_address":"10.0.0.1","ports_used":1,"proto":"udp","sockets":1}],"#
            + #""udp_duplicate_totals":[{"family":"ipv4","overshadowed":0,"sockets":0,"tuples":0},{"family":"ipv6","overshadowed":0,"sockets":0,"tuples":0}],"#
            + #""udp_duplicates":[]}"#
        #expect(text == expected)
        // Same input, same bytes.
        #expect(try ReportJSON(snapshot).encoded(pretty: false) == ReportJSON(snapshot).encoded(pretty: false))
    }

    @Test func prettyOutputDoesNotEscapeSlashesAndRoundTrips() throws {
        let document = ReportJSON(sampleSnapshot())
        let data = try document.encoded()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"/system.slice/app.service\""))
        #expect(text.contains("\n"))
        #expect(try JSONDecoder().decode(ReportJSON.self, from: data) == document)
    }

    @Test func largeCookiesAndUidsSurviveExactly() throws {
        let snapshot = analyze([
            record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", uid: UInt32.max, inode: UInt32.max, cookie: UInt64.max),
            record(.udp, .established, "10.0.0.1:40001", "10.0.0.2:53", uid: 0, inode: 1, cookie: 1 << 60),
        ])
        let data = try ReportJSON(snapshot).encoded(pretty: false)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""cookie":18446744073709551615"#))
        #expect(text.contains(#""uid":4294967295"#))
        let back = try JSONDecoder().decode(ReportJSON.self, from: data)
        #expect(back.udpDuplicates.first?.sockets.map(\.cookie) == [UInt64.max, 1 << 60])
    }
}
