import Testing
import TestSupport

@Suite struct HTTPReplyParsing {
    func parse(_ text: String, toHEAD: Bool = false) throws -> HTTPReply {
        try HTTPReply(parsing: Array(text.utf8), toHEAD: toHEAD)
    }

    @Test func contentLengthChunkedAndToTheEnd() throws {
        let sized = try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
        #expect(sized.status == 200 && sized.text == "hello" && sized.header("content-type") == "text/plain")
        let chunked = try parse("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")
        #expect(chunked.status == 404 && chunked.text == "abcde")
        #expect(chunked.rawBody == Array("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n".utf8))
        let open = try parse("HTTP/1.0 200 OK\r\n\r\nuntil the end")
        #expect(open.text == "until the end")
        #expect(throws: HTTPFailure.self) { try parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort") }
        #expect(throws: HTTPFailure.self) { try parse("SMTP 200\r\n\r\n") }
        #expect(throws: HTTPFailure.self) { try parse("HTTP/1.1 200 OK\r\n") }
        #expect(throws: HTTPFailure.self) { try parse("HTTP/1.1 200 OK\r\nno colon\r\n\r\n") }
    }

    /// Content-Length must be exactly the bytes that came: a server sending more is caught too.
    @Test func contentLengthIsExact() throws {
        #expect(throws: HTTPFailure.self) { try parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc") }
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").body.isEmpty)
    }

    @Test func headersKeepOrderAndCaseAndAreFoundCaseInsensitively() throws {
        let response = try parse("HTTP/1.1 200 OK\r\nX-A:  one \r\nx-a: two\r\nContent-Length: 0\r\n\r\n")
        #expect(response.headers.map(\.name) == ["X-A", "x-a", "Content-Length"])
        #expect(response.header("X-a") == "one")
    }

    @Test func aReplyToHEADHasNoBody() throws {
        let head = try parse("HTTP/1.1 200 OK\r\nContent-Length: 9309\r\n\r\n", toHEAD: true)
        #expect(head.body.isEmpty && head.header("content-length") == "9309")
        #expect(throws: HTTPFailure.self) { try parse("HTTP/1.1 200 OK\r\n\r\nbody", toHEAD: true) }
    }

    @Test func dechunkingIsStrict() throws {
        #expect(try HTTPReply.dechunk(Array("0\r\n\r\n".utf8)).isEmpty)
        #expect(try HTTPReply.dechunk(Array("A\r\n0123456789\r\n0\r\n\r\n".utf8)) == Array("0123456789".utf8))
        for bad in ["3\r\nab", "3\r\nabcX\r\n0\r\n\r\n", "zz\r\n", "3\r\nabc\r\n", "0\r\n\r\ntrailing", "-1\r\n\r\n"] {
            #expect(throws: HTTPFailure.self, "\(bad.debugDescription)") { try HTTPReply.dechunk(Array(bad.utf8)) }
        }
    }
}
