#if canImport(Glibc)
import Glibc
#endif
import Testing
import SockDiag
import SocketModel
import SystemPackage
import TestSupport

/// Exact lookups of real sockets in a private namespace.
@Suite struct LiveLookupTests {
    struct Identity: Equatable { var cookie: UInt64; var inode: UInt32 }

    func identity(_ s: TestSocket) throws -> Identity { Identity(cookie: try s.cookie(), inode: UInt32(truncatingIfNeeded: try s.inode())) }
    func identity(_ r: SocketRecord?) -> Identity? { r.map { Identity(cookie: $0.cookie, inode: $0.inode) } }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func tcpLookupFindsConnectionsAndFallsBackToTheListener(_ family: AddressFamily) throws {
        let ns = try NetworkNamespace()
        let loopback = family == .ipv4 ? IPAddress.ipv4Loopback : IPAddress.ipv6Loopback
        let result = try ns.run { () -> [String: Identity?] in
            let client = try SockDiagClient()
            let listener = try TestSocket(family, .tcp)
            try listener.bind(SocketEndpoint(address: loopback, port: 0))
            try listener.listen()
            let server = try listener.localEndpoint()
            let outgoing = try TestSocket(family, .tcp)
            try outgoing.connect(server)
            let accepted = try listener.accept()
            let clientEnd = try outgoing.localEndpoint()
            let stranger = SocketEndpoint(address: loopback, port: 1)
            var found: [String: Identity?] = [:]
            found["client"] = identity(try client.lookup(proto: .tcp, local: clientEnd, remote: server))
            found["server"] = identity(try client.lookup(proto: .tcp, local: server, remote: clientEnd))
            found["stranger"] = identity(try client.lookup(proto: .tcp, local: server, remote: stranger))
            found["closed port"] = identity(try client.lookup(proto: .tcp, local: SocketEndpoint(address: loopback, port: 2), remote: stranger))
            found["expected client"] = try identity(outgoing)
            found["expected server"] = try identity(accepted)
            found["expected listener"] = try identity(listener)
            return found
        }
        #expect(result["client"]! == result["expected client"]!)
        #expect(result["server"]! == result["expected server"]!)
        #expect(result["stranger"]! == result["expected listener"]!, "an unknown peer gets the listener")
        #expect(result["closed port"]! == nil)
    }

    @Test func cookieCheckedLookupAnswersStaleOnMismatch() throws {
        let ns = try NetworkNamespace()
        let (matched, mismatch) = try ns.run { () -> (SocketRecord?, SockDiagError?) in
            let client = try SockDiagClient()
            let udp = try TestSocket(.ipv4, .udp)
            try udp.bind(.at("127.0.0.1", 0))
            let local = try udp.localEndpoint()
            let remote = SocketEndpoint.at("127.0.0.1", 9)
            let matched = try client.lookup(proto: .udp, local: local, remote: remote, cookie: try udp.cookie())
            var mismatch: SockDiagError?
            do {
                _ = try client.lookup(proto: .udp, local: local, remote: remote, cookie: try udp.cookie() &+ 1)
            } catch {
                mismatch = error as? SockDiagError
            }
            return (matched, mismatch)
        }
        #expect(matched != nil)
        guard case let .kernel(errno, _)? = mismatch else {
            Issue.record("expected a kernel error, got \(String(describing: mismatch))")
            return
        }
        #expect(errno == .staleNFSFileHandle)
    }

    /// Two UDP sockets share a port (SO_REUSEADDR): one connected to a peer, one not. The
    /// kernel delivers the peer's datagrams to the connected one and anyone else's to the
    /// other; the lookup must say the same, which also proves the src/dst swap is right
    /// (unswapped, the lookup would find the peer's own socket).
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func udpLookupNamesTheSocketThatReceives(_ family: AddressFamily) throws {
        let ns = try NetworkNamespace()
        let loopback = family == .ipv4 ? IPAddress.ipv4Loopback : IPAddress.ipv6Loopback
        let any = family == .ipv4 ? IPAddress.ipv4Any : IPAddress.ipv6Any
        struct Outcome { var fromPeer: Identity?; var fromOther: Identity?; var connected: Identity; var wildcard: Identity
                         var arrived: Bool; var receivedByConnected: Bool; var receivedByWildcard: Bool; var wildcardLocal: SocketEndpoint? }
        let o = try ns.run { () -> Outcome in
            let client = try SockDiagClient()
            let peer = try TestSocket(family, .udp)
            try peer.bind(SocketEndpoint(address: loopback, port: 0))
            let other = try TestSocket(family, .udp)
            try other.bind(SocketEndpoint(address: loopback, port: 0))
            let wildcard = try TestSocket(family, .udp)
            try wildcard.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            try wildcard.bind(SocketEndpoint(address: any, port: 0))
            let port = try wildcard.localEndpoint().port
            let connected = try TestSocket(family, .udp)
            try connected.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            try connected.bind(SocketEndpoint(address: loopback, port: port))
            try connected.connect(try peer.localEndpoint())

            let local = SocketEndpoint(address: loopback, port: port)
            let fromPeer = try client.lookup(proto: .udp, local: local, remote: try peer.localEndpoint())
            let fromOther = try client.lookup(proto: .udp, local: local, remote: try other.localEndpoint())
            // Who really receives: one datagram from the peer.
            try peer.send([1], to: local)
            let arrived = TestSocket.waitUntilAnyReadable([connected, wildcard])
            return Outcome(
                fromPeer: identity(fromPeer), fromOther: identity(fromOther),
                connected: try identity(connected), wildcard: try identity(wildcard),
                arrived: arrived, receivedByConnected: connected.receiveNow() == [1], receivedByWildcard: wildcard.receiveNow() != nil,
                wildcardLocal: fromOther?.local
            )
        }
        #expect(o.arrived, "the datagram arrived nowhere")
        #expect(o.fromPeer == o.connected, "the peer's 4-tuple finds the connected socket")
        #expect(o.receivedByConnected && !o.receivedByWildcard, "and that socket is the one that receives")
        #expect(o.fromOther == o.wildcard, "another remote gets the wildcard best match")
        #expect(o.wildcardLocal == SocketEndpoint(address: any, port: o.wildcardLocal?.port ?? 0), "which reports its wildcard address")
    }

    /// A link-local socket is bound to its interface: found with the interface index, not without.
    @Test func linkLocalLookupPassesTheInterfaceIndex() throws {
        let ns = try NetworkNamespace()
        for command in [["ip", "link", "add", "pp0", "type", "veth", "peer", "name", "pp1"],
                        ["ip", "link", "set", "pp0", "up"],
                        ["ip", "link", "set", "pp1", "up"],
                        ["ip", "-6", "addr", "add", "fe80::1/64", "dev", "pp0", "nodad"]] {
            let result = try ns.spawn(command)
            try #require(result.status == 0, "\(command): \(result.stderr)")
        }
        let (index, withIndex, withoutIndex, expected) = try ns.run { () -> (UInt32, SocketRecord?, SocketRecord?, Identity) in
            let client = try SockDiagClient()
            let index = if_nametoindex("pp0")
            let udp = try TestSocket(.ipv6, .udp)
            try udp.bind(.at("fe80::1", 0), scope: index)
            let local = try udp.localEndpoint()
            let remote = SocketEndpoint.at("fe80::2", 4000)
            let withIndex = try client.lookup(proto: .udp, local: local, remote: remote, interfaceIndex: index)
            let withoutIndex = try client.lookup(proto: .udp, local: local, remote: remote)
            return (index, withIndex, withoutIndex, try identity(udp))
        }
        #expect(index > 1)
        #expect(identity(withIndex) == expected)
        #expect(withIndex?.interfaceIndex == index)
        #expect(withoutIndex == nil)
    }

    @Test func lookupAfterAFailedRequestStillWorks() throws {
        // A refused dump (kernel error) must not leave anything queued that a later lookup reads.
        let ns = try NetworkNamespace()
        let (firstError, found) = try ns.run { () -> (SockDiagError?, Bool) in
            let client = try SockDiagClient()
            let udp = try TestSocket(.ipv4, .udp)
            try udp.bind(.at("127.0.0.1", 0))
            var firstError: SockDiagError?
            do {
                _ = try client.lookup(proto: .udp, local: try udp.localEndpoint(), remote: .at("127.0.0.1", 9), cookie: 12345)
            } catch {
                firstError = error as? SockDiagError
            }
            let found = try client.lookup(proto: .udp, local: try udp.localEndpoint(), remote: .at("127.0.0.1", 9)) != nil
            return (firstError, found)
        }
        #expect(firstError != nil)
        #expect(found)
    }
}
