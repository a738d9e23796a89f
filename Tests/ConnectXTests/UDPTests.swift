#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ConnectX
import SockDiag
import SocketModel
import SystemPackage
import ConnectXTestSupport
import TestSupport

@Suite struct UDPTests {
    func udp(_ destination: String, from source: String? = nil, options: ConnectOptions = ConnectOptions())
        -> Result<ConnectedSocket, ConnectXError> {
        attempt { () throws(ConnectXError) in
            try ConnectX.connect(to: ep(destination), from: source.map(ep), protocol: .udp, options: options)
        }
    }

    func fill(_ destination: String, from source: String? = nil, options: ConnectOptions = ConnectOptions())
        -> (sockets: [ConnectedSocket], failure: ConnectXError?) {
        connectUntilFailure { () throws(ConnectXError) in
            try ConnectX.connect(to: ep(destination), from: source.map(ep), protocol: .udp, options: options)
        }
    }

    @Test func secondConnectionOnTheSameTupleIsRefusedAndAnotherDestinationReusesThePort() throws {
        let ns = try NetworkNamespace()
        let (first, clash, other) = try ns.run {
            (udp("127.0.0.2:53", from: "127.0.0.1:45000"), udp("127.0.0.2:53", from: "127.0.0.1:45000"),
             udp("127.0.0.3:53", from: "127.0.0.1:45000"))
        }
        #expect(try first.get().local == ep("127.0.0.1:45000"))
        #expect(try first.get().technique == .reuseAddressLock)
        #expect(clash.failure?.errno == .addressInUse)
        #expect(try other.get().local == ep("127.0.0.1:45000"))
    }

    @Test func wildcardAddressWithAnExplicitPort() throws {
        let ns = try NetworkNamespace()
        let (first, clash) = try ns.run { (udp("127.0.0.2:53", from: "0.0.0.0:45001"), udp("127.0.0.2:53", from: "0.0.0.0:45001")) }
        #expect(try first.get().local == ep("127.0.0.1:45001"))
        #expect(clash.failure?.errno == .addressInUse)
    }

    @Test(arguments: [nil, "127.0.0.1"])
    func theFullRangeIsUsableForEachDestination(source: String?) throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40004)
        let (toFirst, toSecond) = try ns.run { (fill("127.0.0.2:53", from: source), fill("127.0.0.3:53", from: source)) }
        for result in [toFirst, toSecond] {
            #expect(result.sockets.map(\.local.port).sorted() == [40000, 40001, 40002, 40003, 40004])
            #expect(result.sockets.allSatisfy { $0.local.address == IPAddress("127.0.0.1") })
            #expect(result.failure?.errno == .resourceTemporarilyUnavailable)
            #expect(result.failure?.step == .portSearch)
        }
    }

    @Test func reservedPortsAreRespected() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 10, high: 21, reserved: "11,14-18,19")
        let results = try ns.run { [fill("127.0.0.2:53"), fill("127.0.0.3:53")] }
        for result in results {
            #expect(result.sockets.map(\.local.port).sorted() == [10, 12, 13, 20, 21])
            #expect(result.failure?.errno == .resourceTemporarilyUnavailable)
        }
    }

    /// With and without SO_REUSEADDR on the occupant: without, bind() refuses; with, only the
    /// search keeps ConnectX off the port (the kernel would let it bind and then deliver the
    /// destination's datagrams to ConnectX's socket instead of the occupant).
    @Test(arguments: [false, true])
    func neverSharesAPortWithAnUnconnectedSocketOnTheWildcard(occupantReusesAddress: Bool) throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40002)
        let (occupant, chosen, named) = try ns.run {
            let occupant = try Fixture.bound(.udp, "0.0.0.0:40001", reuseAddress: occupantReusesAddress)
            return (occupant, fill("127.0.0.2:53"), udp("127.0.0.2:53", from: "127.0.0.1:40001"))
        }
        #expect(chosen.sockets.map(\.local.port).sorted() == [40000, 40002])
        #expect(chosen.failure?.errno == .resourceTemporarilyUnavailable)
        #expect(named.failure?.errno == .addressInUse)
        withExtendedLifetime(occupant) {}
    }

    @Test func aSocketBoundToOneAddressBlocksOnlyThatAddress() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40002)
        let (occupant, fromOther, fromSame) = try ns.run {
            let occupant = try Fixture.bound(.udp, "127.0.0.3:40001", reuseAddress: true)
            return (occupant, fill("127.0.0.2:53", from: "127.0.0.1"), fill("127.0.0.2:53", from: "127.0.0.3"))
        }
        #expect(fromOther.sockets.map(\.local.port).sorted() == [40000, 40001, 40002])
        #expect(fromSame.sockets.map(\.local.port).sorted() == [40000, 40002])
        #expect(fromSame.failure?.errno == .resourceTemporarilyUnavailable)
        withExtendedLifetime(occupant) {}
    }

    @Test func ipv6AndLinkLocalWithAScope() throws {
        let ns = try NetworkNamespace()
        try ns.addLinkLocal(["fe80::1", "fe80::2"])
        try ns.setPortRange(low: 40000, high: 40001)
        let (loopback, linkLocal, discovered, named) = try ns.run {
            (fill("[::1]:53"), fill("[fe80::2%lo]:53", from: "fe80::1"), udp("[fe80::1%lo]:53"),
             udp("[fe80::2]:53", from: "[fe80::1%lo]:45000"))
        }
        #expect(loopback.sockets.map(\.local.port).sorted() == [40000, 40001])
        #expect(loopback.sockets.allSatisfy { $0.local.address == .ipv6Loopback && $0.local.scopeID == 0 })
        #expect(loopback.failure?.errno == .resourceTemporarilyUnavailable)
        #expect(linkLocal.sockets.map(\.local.port).sorted() == [40000, 40001])
        #expect(linkLocal.sockets.allSatisfy { $0.local.address == IPAddress("fe80::1") && $0.local.scopeID == 1 })
        #expect(linkLocal.failure?.errno == .resourceTemporarilyUnavailable)
        // The discovered source of a link-local destination keeps its scope.
        let socket = try discovered.get()
        #expect(socket.local.address.isIPv6LinkLocal && socket.local.scopeID == 1)
        #expect(try named.get().local == ep("[fe80::1%1]:45000"))
        #expect(try named.get().remote == ep("[fe80::2%1]:53"))
    }

    /// With a shared client the files stay open and are re-read with pread: a change to the
    /// range or the reserved list shows on the very next call, as without one.
    @Test(arguments: [false, true])
    func theRangeIsReadFreshOnEveryCall(sharedClient: Bool) throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40001)
        let options = try ns.run { ConnectOptions(sockDiag: sharedClient ? try SockDiagClient() : nil) }
        let before = try ns.run { fill("127.0.0.2:53", options: options) }
        try ns.setPortRange(low: 40000, high: 40005, reserved: "40003")
        let after = try ns.run { fill("127.0.0.2:53", options: options) }
        try ns.setPortRange(low: 40000, high: 40005, reserved: "40004")
        let reservedMoved = try ns.run { fill("127.0.0.2:53", options: options) }
        #expect(before.sockets.map(\.local.port).sorted() == [40000, 40001])
        #expect(after.sockets.map(\.local.port).sorted() == [40002, 40004, 40005])
        #expect(after.failure?.errno == .resourceTemporarilyUnavailable)
        #expect(reservedMoved.sockets.map(\.local.port) == [40003])
        withExtendedLifetime((before.sockets, after.sockets)) {}
    }

    /// A reserved list longer than the range reader's first buffer (600 bytes of text): read
    /// whole, toward the first destination and toward a second one that must share ports.
    @Test func aLongReservedListIsReadWhole() throws {
        let ns = try NetworkNamespace()
        let odd = stride(from: 40001, through: 40199, by: 2).map(String.init).joined(separator: ",")
        try ns.setPortRange(low: 40000, high: 40199, reserved: odd)
        let results = try ns.run { [fill("127.0.0.2:53"), fill("127.0.0.3:53")] }
        for result in results {
            #expect(result.sockets.map(\.local.port).sorted() == Array(stride(from: 40000, through: 40198, by: 2)))
            #expect(result.failure?.errno == .resourceTemporarilyUnavailable)
        }
    }

    @Test func perSocketPortRange() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40099, reserved: "40011")
        let result = try ns.run { fill("127.0.0.2:53", options: ConnectOptions(portRange: 40010...40013)) }
        #expect(result.sockets.map(\.local.port).sorted() == [40010, 40012, 40013])
        #expect(result.failure?.errno == .resourceTemporarilyUnavailable)
    }

    /// 999 of 1,000 ports taken toward the destination, the last one held toward another (so
    /// the kernel has no unheld port to give): the 64 sampled lookups usually miss the free
    /// one (a 6.4% chance each time), and the one dump finds it. Five rounds, so the dump path
    /// runs (all five sampled hits: one chance in a million). Then the range is full toward
    /// this destination, and still free toward another.
    @Test func theDumpFindsTheLastFreePortOfALargeRange() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40999)
        let (occupants, rounds, full, elsewhere) = try ns.run {
            var occupants: [TestSocket] = []
            for port in 40000...40999 {
                let peer = port == 40517 ? "127.0.0.4:53" : "127.0.0.2:53"
                occupants.append(try Fixture.bound(.udp, "127.0.0.1:\(port)", reuseAddress: true, connectedTo: peer))
            }
            let options = ConnectOptions(sockDiag: try SockDiagClient())
            var rounds: [Result<ConnectedSocket, ConnectXError>] = []
            for _ in 0..<5 {
                let result = udp("127.0.0.2:53", options: options)
                if case .success(let socket) = result { socket.close() }
                rounds.append(result)
            }
            let last = udp("127.0.0.2:53", options: options)
            return (occupants, rounds, (last, udp("127.0.0.2:53", options: options)), udp("127.0.0.3:53", options: options))
        }
        let costs = try rounds.map { try #require($0.get().searchCost) }
        #expect(try rounds.allSatisfy { try $0.get().local == ep("127.0.0.1:40517") })
        #expect(costs.allSatisfy { $0.dumps <= 1 && $0.claims == 1 && $0.lookups <= UDPConnector.probeBudget + 2 })
        #expect(costs.contains { $0.dumps == 1 })
        #expect(try full.0.get().local.port == 40517)
        #expect(full.1.failure?.errno == .resourceTemporarilyUnavailable)
        #expect(try elsewhere.get().local.address == IPAddress("127.0.0.1"))
        withExtendedLifetime(occupants) {}
    }

    /// While some port is held by no socket at all, the kernel's own choice is taken: no
    /// lookup, and the port is shared afterwards (SO_REUSEADDR set).
    @Test func aFreePortCostsNoLookupAndIsSharedAfterwards() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40000)
        let (first, second, sameTuple) = try ns.run {
            (udp("127.0.0.2:53"), udp("127.0.0.3:53"), udp("127.0.0.2:53"))
        }
        let socket = try first.get()
        #expect(socket.searchCost == PortSearchCost(lookups: 0, dumps: 0, claims: 1))
        #expect(socket.technique == .reuseAddressLock)
        #expect(socket.local == ep("127.0.0.1:40000"))
        #expect(try second.get().local == ep("127.0.0.1:40000"))
        #expect(try second.get().searchCost?.lookups ?? 0 >= 1)
        #expect(sameTuple.failure?.errno == .resourceTemporarilyUnavailable)
    }

    @Test func plainUDPConnectIsLimitedPerHostAndConnectXCannotShareItsPorts() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40003)
        let (plain, plainElsewhere, connectxElsewhere, bindElsewhere) = try ns.run {
            (fill("127.0.0.2:53", options: ConnectOptions(method: .plain)),
             udp("127.0.0.3:53", options: ConnectOptions(method: .plain)),
             udp("127.0.0.3:53"),
             udp("127.0.0.3:53", from: "127.0.0.1", options: ConnectOptions(method: .plain)))
        }
        #expect(plain.sockets.count == 4)
        #expect(plain.sockets.allSatisfy { $0.technique == .connect })
        // The baseline: plain connect() exhausted is EAGAIN, toward any destination.
        #expect(plain.failure?.errno == .resourceTemporarilyUnavailable)
        #expect(plain.failure?.step == .connect)
        #expect(plainElsewhere.failure?.errno == .resourceTemporarilyUnavailable)
        // bind(ip, 0) exhausted is EADDRINUSE.
        #expect(bindElsewhere.failure?.errno == .addressInUse)
        #expect(bindElsewhere.failure?.step == .bind)
        // Sockets without SO_REUSEADDR cannot be shared: ConnectX finds no port either.
        #expect(connectxElsewhere.failure?.errno == .resourceTemporarilyUnavailable)
    }

    /// A client from another namespace sees none of this namespace's sockets. The check under
    /// the lock notices (its own socket is missing) instead of trusting "nothing there". The
    /// only port is held toward another destination, so the call must share it and search.
    @Test func aSockDiagClientOfAnotherNamespaceIsAnErrorNotFreedom() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40000)
        let elsewhere = try NetworkNamespace()
        let foreign = try elsewhere.run { try SockDiagClient() }
        let (holder, result) = try ns.run {
            (udp("127.0.0.3:53"), udp("127.0.0.2:53", options: ConnectOptions(sockDiag: foreign)))
        }
        #expect(try holder.get().local == ep("127.0.0.1:40000"))
        #expect(result.failure?.step == .tupleCheck)
        #expect(result.failure?.errno == .noSuchFileOrDirectory)
    }

    @Test func eachSocketReceivesTheDatagramsSentToItsTuple() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40007)
        let received = try ns.run { () -> [Bool] in
            let servers = [try Fixture.bound(.udp, "127.0.0.2:5353"), try Fixture.bound(.udp, "127.0.0.3:5353")]
            let sockets = fill("127.0.0.2:5353").sockets + fill("127.0.0.3:5353").sockets
            return try sockets.map { socket in try roundTrip(socket, servers: servers) }
        }
        #expect(received.count == 16)
        #expect(received.allSatisfy { $0 })
    }
}

/// Sends a datagram naming `socket`'s local end from the server at its remote end, and checks
/// that the socket receives exactly that (within a second).
func roundTrip(_ socket: ConnectedSocket, servers: [TestSocket]) throws -> Bool {
    guard let server = servers.first(where: { $0.local == socket.remote }) else { return false }
    let payload = Array("\(socket.local)".utf8)
    let sent = SocketAddress(socket.local).withSockaddr { sa, length in
        payload.withUnsafeBytes { sendto(server.fd, $0.baseAddress, $0.count, 0, sa, length) }
    }
    guard sent == payload.count else { return false }
    var entry = pollfd(fd: socket.fileDescriptor.rawValue, events: Int16(POLLIN), revents: 0)
    guard poll(&entry, 1, 1000) == 1 else { return false }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { recv(socket.fileDescriptor.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
    return count == payload.count && Array(buffer[0..<count]) == payload
}

/// The two races of the lock, made deterministic by calling a claim at the worst moment.
@Suite struct LockTests {
    /// Our search saw the port free, then another socket connected the same 4-tuple and set
    /// SO_REUSEADDR again before our bind: the bind succeeds, and only the check under the
    /// lock can tell. The claim must lose, and its socket be gone.
    @Test func aClaimAfterAnotherSocketTookTheTupleLoses() throws {
        let ns = try NetworkNamespace()
        let (winner, outcome, afterwards) = try ns.run { () -> (TestSocket, String, Int) in
            let winner = try Fixture.bound(.udp, "127.0.0.1:45000", reuseAddress: true, connectedTo: "127.0.0.2:53")
            var occupancy = PortOccupancy(client: try SockDiagClient(), source: ep("127.0.0.1"), destination: ep("127.0.0.2:53"))
            let outcome: String
            switch try UDPConnector.claim(ep("127.0.0.1:45000"), ep("127.0.0.2:53"), &occupancy) {
            case .connected(let socket): outcome = "connected \(socket)"
            case .bindRefused: outcome = "bind refused"
            case .lost(let holder): outcome = "lost to \(holder.local) -> \(holder.remote)"
            }
            var count = 0
            try SockDiagClient().dump(DumpQuery(proto: .udp, family: .ipv4, filter: .localPort(45000))) { _ in count += 1 }
            return (winner, outcome, count)
        }
        #expect(outcome == "lost to 127.0.0.1:45000 -> 127.0.0.2:53")
        #expect(afterwards == 1)   // only the winner: the losing socket was closed
        withExtendedLifetime(winner) {}
    }

    /// Another claim holds the lock (bound, SO_REUSEADDR cleared): our bind is refused.
    @Test func aClaimDuringAnotherClaimsLockIsRefused() throws {
        let ns = try NetworkNamespace()
        let (holder, outcome) = try ns.run { () -> (TestSocket, String) in
            let holder = try Fixture.bound(.udp, "127.0.0.1:45000", reuseAddress: true)
            try SocketDescriptor(rawValue: holder.fd).setOption(.reuseAddress, 0)
            var occupancy = PortOccupancy(client: try SockDiagClient(), source: ep("127.0.0.1"), destination: ep("127.0.0.2:53"))
            switch try UDPConnector.claim(ep("127.0.0.1:45000"), ep("127.0.0.2:53"), &occupancy) {
            case .connected: return (holder, "connected")
            case .bindRefused: return (holder, "bind refused")
            case .lost: return (holder, "lost")
            }
        }
        #expect(outcome == "bind refused")
        withExtendedLifetime(holder) {}
    }

    /// A socket connected elsewhere with SO_REUSEADDR set shares its port: the claim wins.
    @Test func aClaimBesideASocketConnectedElsewhereWins() throws {
        let ns = try NetworkNamespace()
        let (neighbour, socket) = try ns.run { () -> (TestSocket, ConnectedSocket?) in
            let neighbour = try Fixture.bound(.udp, "127.0.0.1:45000", reuseAddress: true, connectedTo: "127.0.0.3:53")
            var occupancy = PortOccupancy(client: try SockDiagClient(), source: ep("127.0.0.1"), destination: ep("127.0.0.2:53"))
            if case .connected(let socket) = try UDPConnector.claim(ep("127.0.0.1:45000"), ep("127.0.0.2:53"), &occupancy) {
                return (neighbour, socket)
            }
            return (neighbour, nil)
        }
        #expect(socket?.local == ep("127.0.0.1:45000"))
        #expect(socket?.remote == ep("127.0.0.2:53"))
        // Unlocked again: SO_REUSEADDR is set on the connected socket.
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        #expect(getsockopt(socket!.fileDescriptor.rawValue, SOL_SOCKET, SO_REUSEADDR, &value, &length) == 0 && value == 1)
        withExtendedLifetime(neighbour) {}
    }
}
