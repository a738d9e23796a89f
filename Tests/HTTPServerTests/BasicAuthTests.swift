import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import HTTPServer

@Suite struct BasicAuthTests {
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func headerParsingFollowsGo() {
        #expect(BasicAuthenticator.credentials(Self.basic("prom", "a:b")) ?? ("", "") == ("prom", "a:b"))
        #expect(BasicAuthenticator.credentials("bAsIc " + Data("u:p".utf8).base64EncodedString()) ?? ("", "") == ("u", "p"))
        #expect(BasicAuthenticator.credentials(nil) == nil)
        #expect(BasicAuthenticator.credentials("Bearer abc") == nil)
        #expect(BasicAuthenticator.credentials("Basic !!!") == nil)
        #expect(BasicAuthenticator.credentials("Basic " + Data("nocolon".utf8).base64EncodedString()) == nil)
    }

    @Test func bcryptThroughLibcrypt() throws {
        let hash = try #require(Bcrypt.hash(password: "secret", cost: 4))
        #expect(hash.hasPrefix("$2b$04$") && hash.utf8.count == 60)
        #expect(Bcrypt.matches(password: "secret", hash: hash))
        #expect(!Bcrypt.matches(password: "Secret", hash: hash))
        #expect(!Bcrypt.matches(password: "secret\u{0}", hash: hash))
        // $2y$ (htpasswd's) and $2a$ hashes check too.
        let y = "$2y$" + hash.dropFirst(4)
        #expect(Bcrypt.matches(password: "secret", hash: String(y)))
    }

    @Test func unknownUsersAndWrongPasswordsAreRefused() throws {
        let hash = try #require(Bcrypt.hash(password: "secret", cost: 4))
        let authenticator = try BasicAuthenticator(users: ["prom": hash])
        #expect(authenticator.authorizes(Self.basic("prom", "secret")))
        #expect(authenticator.authorizes(Self.basic("prom", "secret")), "cached")
        #expect(!authenticator.authorizes(Self.basic("prom", "wrong")))
        #expect(!authenticator.authorizes(Self.basic("prom", "wrong")), "cached failure")
        #expect(!authenticator.authorizes(Self.basic("nobody", "secret")))
        #expect(!authenticator.authorizes(nil))
        #expect(throws: HTTPServerError.self) { try BasicAuthenticator(users: ["x": "$2b$04$tooshort"]) }
    }

    @Test func cacheStaysBounded() {
        var cache = AuthCache()
        for index in 0..<(AuthCache.capacity * 3) {
            cache.store(index.isMultiple(of: 2), for: AuthCache.Key(user: "u", hash: "h", password: "\(index)"))
            #expect(cache.count <= AuthCache.capacity)
        }
        let last = AuthCache.Key(user: "u", hash: "h", password: "\(AuthCache.capacity * 3 - 1)")
        #expect(cache.result(for: last) == false)
    }

    /// 20 scrapes with distinct wrong passwords (each a real bcrypt check at cost 11, one at a
    /// time) in parallel with good scrapes, whose credentials are cached: the good ones are
    /// answered while the wrong ones are still queued for bcrypt.
    @Test func wrongPasswordsDoNotStallGoodScrapes() throws {
        let hash = try #require(Bcrypt.hash(password: "secret", cost: 11))
        var logger = Logger(label: "test.auth")
        logger.logLevel = .critical
        let server = try HTTPServer(
            configuration: HTTPServerConfiguration(listenAddresses: [try ListenAddress(parsing: "127.0.0.1:0")],
                                                   security: HTTPSecurity(basicAuthUsers: ["prom": hash])),
            logger: logger) { _ in .text(200, "metrics\n") }
        defer { server.stop() }
        let client = HTTPClient(port: try #require(server.boundAddresses.first?.port))
        let good = [("Authorization", Self.basic("prom", "secret"))]
        #expect(try client.request("GET", "/metrics", headers: good).status == 200)  // fills the cache

        let clock = ContinuousClock()
        let start = clock.now
        let wrongDone = Mutex<[Duration]>([])
        let wrongStatuses = Mutex<[Int]>([])
        let group = DispatchGroup()
        for index in 0..<20 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let status = (try? client.request("GET", "/metrics", headers: [("Authorization", Self.basic("prom", "wrong\(index)"))]).status) ?? 0
                wrongStatuses.withLock { $0.append(status) }
                wrongDone.withLock { $0.append(clock.now - start) }
            }
        }
        var goodLatencies: [Duration] = []
        var goodStatuses: [Int] = []
        for _ in 0..<20 {
            let begin = clock.now
            goodStatuses.append((try? client.request("GET", "/metrics", headers: good).status) ?? 0)
            goodLatencies.append(clock.now - begin)
        }
        let goodFinished = clock.now - start
        #expect(group.wait(timeout: .now() + 120) == .success)

        #expect(goodStatuses == Array(repeating: 200, count: 20))
        #expect(wrongStatuses.withLock { $0 } == Array(repeating: 401, count: 20))
        let lastWrong = try #require(wrongDone.withLock { $0.max() })
        // 20 serialized bcrypt checks at cost 11 take seconds; the good scrapes never wait for them.
        #expect(goodFinished < lastWrong, "good scrapes finished at \(goodFinished), wrong ones at \(lastWrong)")
        // Relative, so that a loaded machine slows both sides alike.
        #expect(goodLatencies.max()! * 4 < lastWrong, "slowest good scrape: \(goodLatencies.max()!), wrong ones done at \(lastWrong)")
    }
}
