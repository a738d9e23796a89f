#if canImport(Glibc)
import Glibc
#endif
import SocketModel
import SockDiag
import TestSupport

/// What a test expects of one socket in a dump.
struct SocketKey: Hashable, CustomStringConvertible {
    var proto: TransportProtocol
    var family: AddressFamily
    var state: SocketState
    var local: SocketEndpoint
    var remote: SocketEndpoint

    init(_ proto: TransportProtocol, _ state: SocketState, _ local: SocketEndpoint, _ remote: SocketEndpoint) {
        self.proto = proto
        self.family = local.address.family
        self.state = state
        self.local = local
        self.remote = remote
    }

    init(_ r: SocketRecord) {
        self.init(r.proto, r.state, r.local, r.remote)
        family = r.family
    }

    var description: String { "\(proto.name) \(state.name(for: proto)) \(local) -> \(remote)" }
}

extension SocketEndpoint {
    static let v4None = SocketEndpoint(address: .ipv4Any, port: 0)
    static let v6None = SocketEndpoint(address: .ipv6Any, port: 0)
}

/// A small population with every kind of socket, on FIXED ports (the namespace is private),
/// so recordings of it have expectations known in advance. Build it inside `ns.run`, after
/// `tcp_tw_reuse=0`.
struct FixedPopulation {
    var sockets: [TestSocket] = []
    /// The sockets that are expected, and the one closed early to leave a TIME_WAIT.
    var expected: Set<SocketKey> = []
    var listener4: TestSocket!
    var client4: TestSocket!

    static let listen4 = SocketEndpoint.at("127.0.0.1", 8080)
    static let client4Endpoint = SocketEndpoint.at("127.0.0.1", 40001)
    static let timeWaitEndpoint = SocketEndpoint.at("127.0.0.1", 40002)
    static let boundOnly = SocketEndpoint.at("127.0.0.2", 40003)
    static let udpUnconnected = SocketEndpoint.at("127.0.0.1", 5353)
    static let udpConnected = SocketEndpoint.at("127.0.0.1", 40004)
    static let udpPeer = SocketEndpoint.at("127.0.0.1", 53)
    static let listen6 = SocketEndpoint.at("::1", 8443)
    static let client6Endpoint = SocketEndpoint.at("::1", 40005)
    static let udp6Unconnected = SocketEndpoint.at("::1", 5353)

    /// Opens everything; the TIME_WAIT socket is left by closing its client first.
    static func make() throws -> FixedPopulation {
        var p = FixedPopulation()
        let listener = try TestSocket(.ipv4, .tcp)
        try listener.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
        try listener.bind(listen4)
        try listener.listen()
        p.listener4 = listener
        p.sockets.append(listener)
        p.expected.insert(SocketKey(.tcp, .listen, listen4, .v4None))

        let client = try TestSocket(.ipv4, .tcp)
        try client.bind(client4Endpoint)
        try client.connect(listen4)
        p.client4 = client
        p.sockets += [client, try listener.accept()]
        p.expected.insert(SocketKey(.tcp, .established, client4Endpoint, listen4))
        p.expected.insert(SocketKey(.tcp, .established, listen4, client4Endpoint))

        do {
            let closing = try TestSocket(.ipv4, .tcp)
            try closing.bind(timeWaitEndpoint)
            try closing.connect(listen4)
            let accepted = try listener.accept()
            closing.close()      // active close: this side ends in TIME_WAIT
            accepted.close()
        }
        p.expected.insert(SocketKey(.tcp, .timeWait, timeWaitEndpoint, listen4))

        let bound = try TestSocket(.ipv4, .tcp)
        try bound.bind(boundOnly)
        p.sockets.append(bound)
        p.expected.insert(SocketKey(.tcp, .boundInactive, boundOnly, .v4None))

        let udp = try TestSocket(.ipv4, .udp)
        try udp.bind(udpUnconnected)
        let connected = try TestSocket(.ipv4, .udp)
        try connected.bind(udpConnected)
        try connected.connect(udpPeer)
        p.sockets += [udp, connected]
        p.expected.insert(SocketKey(.udp, .close, udpUnconnected, .v4None))
        p.expected.insert(SocketKey(.udp, .established, udpConnected, udpPeer))

        let listener6 = try TestSocket(.ipv6, .tcp)
        try listener6.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
        try listener6.bind(listen6)
        try listener6.listen()
        let client6 = try TestSocket(.ipv6, .tcp)
        try client6.bind(client6Endpoint)
        try client6.connect(listen6)
        p.sockets += [listener6, client6, try listener6.accept()]
        p.expected.insert(SocketKey(.tcp, .listen, listen6, .v6None))
        p.expected.insert(SocketKey(.tcp, .established, client6Endpoint, listen6))
        p.expected.insert(SocketKey(.tcp, .established, listen6, client6Endpoint))

        let udp6 = try TestSocket(.ipv6, .udp)
        try udp6.bind(udp6Unconnected)
        p.sockets.append(udp6)
        p.expected.insert(SocketKey(.udp, .close, udp6Unconnected, .v6None))
        return p
    }
}

/// Every socket of the four tables, dumped by `client`.
func dumpEverything(_ client: SockDiagClient, recorder: DumpRecorder? = nil) throws -> [SocketRecord] {
    var records: [SocketRecord] = []
    for query in DumpQuery.everySocket {
        let before = records.count
        let statistics = try client.dump(query, recorder: recorder, restart: { records.removeSubrange(before...) }) { records.append($0) }
        precondition(statistics.records == records.count - before)
    }
    return records
}

/// Unconnected UDP sockets bound to 127.0.0.1 on each of `ports` (a table of known size).
func boundUDPSockets(_ ports: Range<UInt16>) throws -> [TestSocket] {
    try ports.map { port in
        let socket = try TestSocket(.ipv4, .udp)
        try socket.bind(.at("127.0.0.1", port))
        return socket
    }
}
