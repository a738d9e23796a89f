import SocketModel
import Testing

/// The one endpoint grammar: how text splits, before any kind of endpoint interprets it.
@Suite struct HostAndPortTests {
    func split(_ text: String) -> (host: String, port: String?, bracketed: Bool)? {
        guard let parts = try? HostAndPort(splitting: text) else { return nil }
        return (String(parts.host), parts.port.map(String.init), parts.bracketed)
    }

    @Test func splitsEveryForm() throws {
        #expect(try #require(split("10.0.0.1:80")) == ("10.0.0.1", "80", false))
        #expect(try #require(split("www.example.com:443")) == ("www.example.com", "443", false))
        #expect(try #require(split(":9100")) == ("", "9100", false))
        #expect(try #require(split("[::1]:53")) == ("::1", "53", true))
        #expect(try #require(split("[fe80::1%eth0]:53")) == ("fe80::1%eth0", "53", true))
        #expect(try #require(split("[::1]")) == ("::1", nil, true))
        #expect(try #require(split("[::1]:")) == ("::1", "", true))
        // No colon, or several: a bare host (an IPv6 address without brackets).
        #expect(try #require(split("10.0.0.1")) == ("10.0.0.1", nil, false))
        #expect(try #require(split("2001:db8::1:80")) == ("2001:db8::1:80", nil, false))
    }

    @Test func bracketErrors() {
        #expect(throws: HostAndPort.SyntaxError.missingCloseBracket) { try HostAndPort(splitting: "[::1:80") }
        #expect(throws: HostAndPort.SyntaxError.textAfterCloseBracket) { try HostAndPort(splitting: "[::1]80") }
    }

    @Test func zoneAndAddress() throws {
        let scoped = try HostAndPort(splitting: "[fe80::1%eth0]:53")
        #expect(scoped.address == "fe80::1")
        #expect(scoped.zone == "eth0")
        let empty = try HostAndPort(splitting: "fe80::1%")
        #expect(empty.zone == "")
        #expect(try HostAndPort(splitting: "10.0.0.1:1").zone == nil)
    }

    @Test(arguments: [("0", UInt16(0)), ("80", 80), ("65535", 65535), ("0080", 80)])
    func portsInDigits(text: String, port: UInt16) {
        #expect(HostAndPort.portNumber(Substring(text)) == port)
    }

    @Test(arguments: ["", "+80", "-1", " 80", "80 ", "65536", "0x50", "８０"])
    func notPorts(text: String) {
        #expect(HostAndPort.portNumber(Substring(text)) == nil)
    }

    /// The kinds of endpoint agree on what they share and differ only where their grammar does.
    @Test func socketEndpointOverTheGrammar() {
        #expect(SocketEndpoint("10.0.0.1:80") == SocketEndpoint(address: IPAddress("10.0.0.1")!, port: 80))
        #expect(SocketEndpoint("[::1]:80") == SocketEndpoint(address: .ipv6Loopback, port: 80))
        #expect(SocketEndpoint("::1") == nil)
        #expect(SocketEndpoint("::1", portOptional: true) == SocketEndpoint(address: .ipv6Loopback, port: 0))
        #expect(SocketEndpoint("10.0.0.1:+80") == nil)
        #expect(SocketEndpoint("host:80") == nil)
    }
}
