import Testing
@testable import SocketModel

@Suite struct IPv6FormattingTests {
    /// (input in any valid form, RFC 5952 canonical text)
    static let cases: [(String, String)] = [
        ("::", "::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("::1", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("1::", "1::"),
        ("1:0:0:0:0:0:0:0", "1::"),
        // Leading zeros dropped, lowercase.
        ("2001:0DB8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"),
        ("2001:DB8::ABCD", "2001:db8::abcd"),
        // The longest run is compressed...
        ("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"),
        ("0:1:0:0:0:1:0:0", "0:1::1:0:0"),
        // ...the first one on a tie...
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        // ...and a single zero group is not compressed.
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
        ("0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"),
        ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
        ("1:2:3:4:5:6:0:0", "1:2:3:4:5:6::"),
        ("0:0:1:2:3:4:5:6", "::1:2:3:4:5:6"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fe80::1", "fe80::1"),
        ("fe80:0:0:0:a:b:c:d", "fe80::a:b:c:d"),
        // IPv4-mapped in mixed notation, whatever the input form.
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"),
        ("::FFFF:10.0.0.1", "::ffff:10.0.0.1"),
        ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
        // Only mapped addresses get mixed notation (IPv4-compatible is deprecated).
        ("::192.0.2.1", "::c000:201"),
        ("::fffe:192.0.2.1", "::fffe:c000:201"),
        ("1::ffff:192.0.2.1", "1::ffff:c000:201"),
    ]

    @Test(arguments: cases)
    func canonicalText(input: String, expected: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.family == .ipv6)
        #expect(address.description == expected)
        // The canonical text parses back to the same address.
        #expect(IPAddress(expected) == address)
    }

    @Test func randomAddressesRoundTrip() throws {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
        for _ in 0..<2_000 {
            // Zero out random groups so that runs of every length and position occur.
            var high = next(), low = next()
            let zeroMask = next()
            for g in 0..<4 where zeroMask >> UInt64(g) & 1 == 1 { high &= ~(0xffff << UInt64(16 * g)) }
            for g in 0..<4 where zeroMask >> UInt64(4 + g) & 1 == 1 { low &= ~(0xffff << UInt64(16 * g)) }
            let address = IPAddress(ipv6High: high, low: low)
            let text = address.description
            #expect(IPAddress(text) == address, "\(text)")
            #expect(!text.contains(":::"))
            if let first = text.firstRange(of: "::") {
                #expect(!text[first.upperBound...].contains("::"), "\(text)")   // at most one "::"
            }
            #expect(text == text.lowercased())
            #expect(text.count <= 45)
        }
    }
}

@Suite struct IPAddressTests {
    @Test func ipv4TextAndValue() throws {
        let a = try #require(IPAddress("192.0.2.1"))
        #expect(a.family == .ipv4)
        #expect(a.ipv4Value == 0xc000_0201)
        #expect(a.description == "192.0.2.1")
        #expect(IPAddress(ipv4: 0).description == "0.0.0.0")
        #expect(IPAddress(ipv4: .max).description == "255.255.255.255")
        #expect(IPAddress.ipv4Loopback.description == "127.0.0.1")
        #expect(IPAddress.ipv6Loopback.description == "::1")
        #expect(IPAddress.ipv6Loopback.ipv4Value == nil)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "a.b.c.d", " 1.2.3.4", "1.2.3.4 ",
                      "1::2::3", "::g", ":::", "1:2:3:4:5:6:7:8:9", "[::1]", "fe80::1%eth0", "12345::",
                      "::ffff:1.2.3.256", "1.2.3.4/24", "localhost"])
    func invalidTextIsRejected(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func networkBytesRoundTrip() throws {
        let v4 = try #require(IPAddress("10.1.2.3"))
        #expect(v4.networkBytes == [10, 1, 2, 3])
        #expect(IPAddress(networkBytes: v4.networkBytes) == v4)
        let v6 = try #require(IPAddress("2001:db8::1:2"))
        #expect(v6.networkBytes == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2])
        #expect(IPAddress(networkBytes: v6.networkBytes) == v6)
        #expect(IPAddress(networkBytes: [1, 2, 3]) == nil)
        #expect(IPAddress(networkBytes: [UInt8](repeating: 0, count: 17)) == nil)
        #expect(IPAddress(networkBytes: [UInt8]()) == nil)
    }

    @Test func classification() throws {
        #expect(IPAddress.ipv4Any.isUnspecified)
        #expect(IPAddress.ipv6Any.isUnspecified)
        #expect(!IPAddress.ipv6Loopback.isUnspecified)
        #expect(try #require(IPAddress("fe80::1")).isIPv6LinkLocal)
        #expect(try #require(IPAddress("febf::1")).isIPv6LinkLocal)
        #expect(try !#require(IPAddress("fec0::1")).isIPv6LinkLocal)
        #expect(try !#require(IPAddress("169.254.0.1")).isIPv6LinkLocal)
        #expect(try #require(IPAddress("::ffff:10.0.0.1")).ipv4Mapped == IPAddress("10.0.0.1"))
        #expect(try #require(IPAddress("::10.0.0.1")).ipv4Mapped == nil)
        #expect(try #require(IPAddress("10.0.0.1")).ipv4Mapped == nil)
    }

    @Test func orderPutsIPv4FirstThenNumeric() throws {
        let texts = ["2001:db8::1", "10.0.0.2", "::", "10.0.0.10", "0.0.0.0", "::1", "9.255.255.255"]
        let sorted = texts.compactMap(IPAddress.init).sorted().map(\.description)
        #expect(sorted == ["0.0.0.0", "9.255.255.255", "10.0.0.2", "10.0.0.10", "::", "::1", "2001:db8::1"])
        // Same bits, different family: not equal.
        #expect(IPAddress(ipv4: 1) != IPAddress(ipv6High: 0, low: 1))
    }
}

@Suite struct SocketEndpointTests {
    @Test func parsesAddressAndPort() throws {
        let v4 = try #require(SocketEndpoint("10.0.0.1:8080"))
        #expect(v4.address == IPAddress("10.0.0.1"))
        #expect(v4.port == 8080)
        let v6 = try #require(SocketEndpoint("[2001:db8::1]:443"))
        #expect(v6.address == IPAddress("2001:db8::1"))
        #expect(v6.port == 443)
        #expect(SocketEndpoint("[::]:0")?.address == .ipv6Any)
        #expect(SocketEndpoint("1.2.3.4:65535")?.port == 65535)
    }

    @Test func portOptionalForms() {
        #expect(SocketEndpoint("10.0.0.1", portOptional: true) == SocketEndpoint(address: IPAddress("10.0.0.1")!, port: 0))
        #expect(SocketEndpoint("::1", portOptional: true) == SocketEndpoint(address: .ipv6Loopback, port: 0))
        #expect(SocketEndpoint("[::1]", portOptional: true) == SocketEndpoint(address: .ipv6Loopback, port: 0))
        #expect(SocketEndpoint("10.0.0.1:53", portOptional: true)?.port == 53)
        // Without the option a port is required.
        #expect(SocketEndpoint("10.0.0.1") == nil)
        #expect(SocketEndpoint("::1") == nil)
        #expect(SocketEndpoint("[::1]") == nil)
    }

    @Test(arguments: ["", ":", "10.0.0.1:", ":80", "10.0.0.1:65536", "10.0.0.1:-1", "10.0.0.1: 80",
                      "10.0.0.1:8o", "[::1]80", "[::1", "::1]:80", "[::1]:", "[::1]:99999", "[10.0.0.300]:1",
                      "::1:80", "host:80", "[fe80::1%eth0]:80"])
    func malformedEndpointsAreRejected(text: String) {
        #expect(SocketEndpoint(text) == nil)
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["10.0.0.1:8080", "[2001:db8::1]:443", "[::ffff:10.0.0.1]:1", "0.0.0.0:0", "[::]:65535"] {
            let e = try #require(SocketEndpoint(text))
            #expect(e.description == text)
            #expect(SocketEndpoint(e.description) == e)
        }
        #expect(SocketEndpoint("[2001:DB8:0::1]:80")?.description == "[2001:db8::1]:80")
    }

    @Test func fourTupleDescriptionAndOrder() throws {
        let a = FourTuple(local: try #require(SocketEndpoint("10.0.0.1:1")), remote: try #require(SocketEndpoint("10.0.0.2:2")))
        let b = FourTuple(local: try #require(SocketEndpoint("10.0.0.1:1")), remote: try #require(SocketEndpoint("10.0.0.2:3")))
        #expect(a.description == "10.0.0.1:1 -> 10.0.0.2:2")
        #expect(a < b)
        #expect(try #require(SocketEndpoint("10.0.0.1:9")) < #require(SocketEndpoint("10.0.0.2:1")))
    }
}
