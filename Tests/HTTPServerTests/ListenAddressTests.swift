import Testing
@testable import HTTPServer

@Suite struct ListenAddressTests {
    @Test(arguments: [
        (":10123", nil, 10123, ":10123"),
        ("0.0.0.0:9100", "0.0.0.0", 9100, "0.0.0.0:9100"),
        ("127.0.0.1:0", "127.0.0.1", 0, "127.0.0.1:0"),
        ("[::1]:9100", "::1", 9100, "[::1]:9100"),
        ("[::]:80", "::", 80, "[::]:80"),
        ("[fe80::1%eth0]:9100", "fe80::1%eth0", 9100, "[fe80::1%eth0]:9100"),
        ("localhost:65535", "localhost", 65535, "localhost:65535"),
    ] as [(String, String?, UInt16, String)])
    func parses(text: String, host: String?, port: UInt16, description: String) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == description)
    }

    @Test(arguments: [
        "", "9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:http",
        "::1:9100", "[::1]", "[::1]9100", "[::1:9100", "[]:9100", ":", "host: 80",
    ])
    func rejects(text: String) {
        #expect {
            _ = try ListenAddress(parsing: text)
        } throws: { error in
            guard case let .invalidAddress(address, reason) = error as? HTTPServerError else { return false }
            return address == text && !reason.isEmpty
        }
    }
}

@Suite struct ContentCodingTests {
    @Test(arguments: [
        (nil, false),
        ("", false),
        ("gzip", true),
        ("GZIP", true),
        ("x-gzip", true),
        ("gzip, deflate, br", true),
        ("deflate, br", false),
        ("identity", false),
        ("*", true),
        ("gzip;q=0", false),
        ("gzip; q=0.0", false),
        ("gzip;q=0, *", false),
        ("*;q=0", false),
        ("*;q=0.1, deflate", true),
        ("gzip;q=0.001", true),
        ("deflate;q=1, gzip;q=0.5", true),
        ("gzip;q=abc", false),
        ("gzip;q=2", false),
        (" gzip ; q=1.0 ", true),
        ("identity;q=1, *;q=0", false),
    ] as [(String?, Bool)])
    func acceptsGzip(header: String?, expected: Bool) {
        #expect(ContentCoding.acceptsGzip(header) == expected)
    }
}
