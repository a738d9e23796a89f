import Testing

/// The helpers the end-to-end tests judge portpressure with must be right themselves.
@Suite struct SocketTableParsing {
    // Lines recorded from ss 6.1 (`ss -tanHe -4` etc.) in a test namespace.
    @Test func tcpLinesOfBothFamilies() throws {
        let v4 = """
            LISTEN 0      4096              0.0.0.0:9000             0.0.0.0:*     ino:280857 sk:8f39 cgroup:/ <->
            ESTAB  0      0               127.0.0.1:55398          127.0.0.1:9001  uid:1000 ino:280867 sk:8f3a cgroup:/user.slice <->
            TIME-WAIT 0      0      127.0.0.1:40406 127.0.0.1:8080 ino:0 sk:1f

            """
        let entries = try SocketTable.parse(v4, proto: .tcp, family: .ipv4)
        #expect(entries.count == 3)
        #expect(entries[0] == SocketTableEntry(proto: .tcp, family: .ipv4, state: "listen", receiveQueue: 0,
                                               localAddress: "0.0.0.0", localPort: 9000, remoteAddress: "0.0.0.0", remotePort: nil,
                                               uid: 0, inode: 280857, cookie: 0x8f39, cgroup: "/"))
        #expect(entries[1].uid == 1000 && entries[1].cgroup == "/user.slice" && entries[1].remotePort == 9001 && entries[1].hasPeer)
        #expect(entries[2].state == "time_wait" && entries[2].cgroup == nil && entries[2].inode == 0 && entries[2].cookie == 0x1f)
        #expect(!entries[0].hasPeer && entries[2].hasPeer)

        let v6 = """
            LISTEN 2      4096                    *:9001                   *:*     ino:280858 sk:8f3b cgroup:/ v6only:0 <->
            ESTAB  0      0      [::ffff:127.0.0.1]:9001  [::ffff:127.0.0.1]:55398 ino:0 sk:8f3d cgroup:/ <->
            ESTAB  0      0      [fe80::1]%eth0:40000 [2001:db8::7]:443 ino:5 sk:ffffffffffffffff cgroup:/ <->
            """
        let six = try SocketTable.parse(v6, proto: .tcp, family: .ipv6)
        #expect(six.map(\.localAddress) == ["::", "::ffff:127.0.0.1", "fe80::1"])
        #expect(six[0].remoteAddress == "::" && six[0].remotePort == nil && six[0].receiveQueue == 2)
        #expect(six[1].remoteAddress == "::ffff:127.0.0.1" && six[1].remotePort == 55398)
        #expect(six[2].cookie == UInt64.max && six[2].remoteAddress == "2001:db8::7")
    }

    @Test func udpUnconnectedIsUnconnectedAndTCPUnconnIsClose() throws {
        let udp = try SocketTable.parse("UNCONN 0 0 127.0.0.1%lo:53 0.0.0.0:* ino:1 sk:2 <->\nESTAB 768 0 127.0.0.1:40495 127.0.0.1:5353 ino:3 sk:4 <->",
                                        proto: .udp, family: .ipv4)
        #expect(udp.map(\.state) == ["unconnected", "established"])
        #expect(udp[0].localAddress == "127.0.0.1" && udp[0].localPort == 53 && !udp[0].hasPeer)
        #expect(udp[1].receiveQueue == 768 && udp[1].hasPeer)
        let tcp = try SocketTable.parse("UNCONN 0 0 127.0.0.1:41000 0.0.0.0:*", proto: .tcp, family: .ipv4)
        #expect(tcp[0].state == "close" && !tcp[0].hasPeer)
    }

    @Test func rejectsWhatItDoesNotUnderstand() {
        #expect(throws: SocketTableParseError.self) { try SocketTable.parse("WEIRD 0 0 1.2.3.4:1 5.6.7.8:2", proto: .tcp, family: .ipv4) }
        #expect(throws: SocketTableParseError.self) { try SocketTable.parse("ESTAB 0 0 1.2.3.4 5.6.7.8:2", proto: .tcp, family: .ipv4) }
        #expect(throws: SocketTableParseError.self) { try SocketTable.parse("ESTAB 0 0 1.2.3.4:99999 5.6.7.8:2", proto: .tcp, family: .ipv4) }
        #expect(throws: SocketTableParseError.self) { try SocketTable.parse("ESTAB 0 0 [::1]:1 [::1]:2", proto: .tcp, family: .ipv4) }
        #expect(throws: SocketTableParseError.self) { try SocketTable.parse("ESTAB 0 0 1.2.3.4:1", proto: .tcp, family: .ipv4) }
        #expect(throws: SocketTableParseError.self) { try SocketTable.parse("ESTAB x 0 1.2.3.4:1 5.6.7.8:2", proto: .tcp, family: .ipv4) }
    }
}

@Suite struct ReferenceModelRules {
    @Test func rangeFromSysctlText() throws {
        let range = try #require(RangeFacts(portRange: "40000\t40999\n", reservedPorts: "39990-40010,40500,41000-42000\n"))
        #expect(range.reserved.count == 12)  // 40000-40010 and 40500
        #expect(range.limit == 1000 - 12)
        #expect(!range.isEphemeral(40005) && range.isEphemeral(40011) && !range.isEphemeral(41000) && !range.isEphemeral(39999))
        #expect(RangeFacts(portRange: "1 2 3", reservedPorts: "") == nil)
        #expect(RangeFacts(portRange: "10 20", reservedPorts: "15-12") == nil)
        #expect(RangeFacts(portRange: "10 20", reservedPorts: "\n")?.limit == 11)
    }

    /// A hand-checked population: the definitions of docs/report-json.md applied by hand.
    @Test func countsOfASmallPopulation() throws {
        let range = try #require(RangeFacts(portRange: "100 199", reservedPorts: "150"))
        func tcp(_ state: String, _ local: String, _ lport: Int, _ remote: String = "0.0.0.0", _ rport: Int? = nil,
                 inode: Int = 1, cgroup: String? = "/a") -> SocketTableEntry {
            SocketTableEntry(proto: .tcp, family: .ipv4, state: state, receiveQueue: 0, localAddress: local, localPort: lport,
                             remoteAddress: remote, remotePort: rport, uid: 0, inode: inode, cookie: UInt64(lport), cgroup: cgroup)
        }
        var udpA = tcp("established", "10.0.0.1", 120, "10.0.0.9", 53)
        udpA.proto = .udp
        var udpB = udpA
        udpB.inode = 2
        udpB.cookie = 999
        let entries = [
            tcp("listen", "10.0.0.1", 80),                         // not ephemeral: counted in the states only
            tcp("listen", "10.0.0.1", 110),                        // bound port
            tcp("established", "10.0.0.1", 101, "10.0.0.2", 443),
            tcp("established", "10.0.0.1", 101, "10.0.0.3", 443),  // same port, other destination
            tcp("time_wait", "10.0.0.1", 102, "10.0.0.2", 443, inode: 0, cgroup: nil),
            tcp("established", "10.0.0.1", 150, "10.0.0.2", 443),  // reserved: not counted
            udpA, udpB,
        ]
        let model = ReferenceModel(range: range, entries: entries)
        #expect(model.sockets[.init(proto: "tcp", family: "ipv4", state: "established")] == 3)
        #expect(model.sockets.count == 28)
        #expect(model.protocols["tcp"] == .init(portsUsed: 3, boundPorts: 1))
        #expect(model.protocols["udp"] == .init(portsUsed: 1, boundPorts: 0))
        #expect(model.sources[.init(proto: "tcp", family: "ipv4", address: "10.0.0.1")]
                == .init(portsUsed: 3, sockets: 4, boundPorts: 1, destinations: 2, destinationPortsMax: 2))
        #expect(model.destinations[.init(proto: "tcp", family: "ipv4", local: "10.0.0.1", remote: "10.0.0.2", remotePort: 443)]
                == .init(portsUsed: 2, sockets: 2))
        #expect(model.destinations[.init(proto: "udp", family: "ipv4", local: "10.0.0.1", remote: "10.0.0.9", remotePort: 53)]
                == .init(portsUsed: 1, sockets: 2))
        #expect(model.owners[.init(proto: "tcp", uid: nil, cgroup: "")] == .init(portsUsed: 1, sockets: 1))
        #expect(model.owners[.init(proto: "tcp", uid: 0, cgroup: "/a")] == .init(portsUsed: 2, sockets: 3))
        let tuple = ReferenceModel.TupleKey(family: "ipv4", local: "10.0.0.1", localPort: 120, remote: "10.0.0.9", remotePort: 53)
        #expect(model.duplicates[tuple]?.count == 2)
        #expect(model.duplicateTotals(receivers: [tuple: 999])["ipv4"]! == (1, 2, 1))
        #expect(model.duplicateTotals(receivers: [tuple: 12345])["ipv4"]! == (1, 2, 2))
        #expect(model.duplicateTotals(receivers: [tuple: UInt64?.none])["ipv4"]! == (1, 2, 2))
    }
}
