import Testing
@testable import ConnectX
import SocketModel
import SystemPackage

@Suite struct EndpointTests {
    @Test func parsesIPv4AndIPv6WithAndWithoutPorts() throws {
        let v4 = try #require(ConnectX.Endpoint(parsing: "127.0.0.2:80"))
        #expect(v4.address == IPAddress("127.0.0.2") && v4.port == 80 && v4.scopeID == 0)
        let v6 = try #require(ConnectX.Endpoint(parsing: "[2001:db8::1]:53"))
        #expect(v6.address == IPAddress("2001:db8::1") && v6.port == 53)
        #expect(ConnectX.Endpoint(parsing: "10.0.0.1", portOptional: true)?.port == 0)
        #expect(ConnectX.Endpoint(parsing: "::1", portOptional: true)?.address == .ipv6Loopback)
        #expect(ConnectX.Endpoint(parsing: "[::1]", portOptional: true)?.address == .ipv6Loopback)
        #expect(ConnectX.Endpoint(parsing: "0.0.0.0:5000")?.address == .ipv4Any)
    }

    @Test func parsesScopesByNumberAndByName() throws {
        let numbered = try #require(ConnectX.Endpoint(parsing: "[fe80::1%7]:80"))
        #expect(numbered.scopeID == 7 && numbered.address == IPAddress("fe80::1"))
        // The loopback interface is index 1 in every network namespace.
        let named = try #require(ConnectX.Endpoint(parsing: "fe80::2%lo", portOptional: true))
        #expect(named.scopeID == 1 && named.port == 0)
        #expect(numbered.description == "[fe80::1%7]:80")
    }

    @Test func rejectsMalformedText() {
        for text in ["", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:80", "[::1]80", "[::1", "::1",
                     "[127.0.0.1]:80", "127.0.0.1%1:80", "[fe80::1%nosuchif0]:80", "[fe80::1%]:80",
                     "[fe80::1%0]:80", "host:80", "[::1]:x"] {
            #expect(ConnectX.Endpoint(parsing: text) == nil, "\(text)")
        }
        #expect(ConnectX.Endpoint(parsing: "1.2.3.4.5", portOptional: true) == nil)
    }

    @Test func descriptionsMatchTheCommandOutput() {
        let v4 = ConnectX.Endpoint(address: IPAddress("127.0.0.1")!, port: 40001)
        #expect(v4.description == "127.0.0.1:40001")
        #expect(ConnectX.Endpoint(address: .ipv6Loopback, port: 53).description == "[::1]:53")
    }

    @Test func socketAddressesRoundTrip() {
        let endpoints = [
            ConnectX.Endpoint(address: IPAddress("192.0.2.7")!, port: 65535),
            ConnectX.Endpoint(address: IPAddress("2001:db8::42")!, port: 1),
            ConnectX.Endpoint(address: IPAddress("fe80::1")!, port: 80, scopeID: 3),
        ]
        for endpoint in endpoints {
            #expect(SocketAddress(endpoint).endpoint == endpoint)
        }
        #expect(SocketAddress.unspecified.endpoint == nil)
    }

    @Test func errnoNamesAndMeanings() {
        let exhausted = ConnectXError(step: .connect, errno: .addressNotAvailable)
        #expect(exhausted.errnoName == "EADDRNOTAVAIL")
        #expect(exhausted.meaning == "no free local port toward this destination")
        #expect(exhausted.description == "connect: EADDRNOTAVAIL: no free local port toward this destination")
        #expect(ConnectXError(step: .bind, errno: .addressInUse).errnoName == "EADDRINUSE")
        #expect(ConnectXError(step: .portSearch, errno: .resourceTemporarilyUnavailable).errnoName == "EAGAIN")
        #expect(ConnectXError(step: .connect, errno: Errno(rawValue: 4095)).errnoName == "errno 4095")
        #expect(ConnectXError(step: .setOption, errno: .invalidArgument, detail: "SO_COOKIE").description
            .hasPrefix("setsockopt (SO_COOKIE): EINVAL"))
    }
}
