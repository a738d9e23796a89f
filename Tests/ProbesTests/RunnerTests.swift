#if canImport(Glibc)
import Glibc
#endif
import ConnectX
@testable import Probes
import SocketModel
import ConnectXTestSupport
import TestSupport
import Testing

extension ProbesTests {
    @Suite struct RunnerTests {
        let runner = ProbeRunner()

        @Test func tcpToAListenerSucceedsAndToAClosedPortIsRefused() throws {
            let ns = try NetworkNamespace()
            let (listener, open, closed) = try ns.run {
                let listener = try Fixture.tcpListener("127.0.0.2:80")
                return (listener, runner.run(probe("open", .tcp, "127.0.0.2:80")), runner.run(probe("closed", .tcp, "127.0.0.2:81")))
            }
            #expect(open.succeeded, "\(open.detail)")
            #expect(open.probe == "open")
            #expect(open.local?.address == IPAddress("127.0.0.1"))
            #expect(open.local.map { $0.port != 0 } == true)
            #expect(open.remote == ep("127.0.0.2:80"))
            #expect(open.duration > .zero && open.duration < .seconds(2))
            #expect(closed.failure == .econnrefused)
            #expect(closed.detail.contains("ECONNREFUSED"))
            #expect(closed.local == nil)
            withExtendedLifetime(listener) {}
        }

        @Test func aNameIsResolvedAtRunTime() throws {
            let ns = try NetworkNamespace()
            let (listener, byName, unknown) = try ns.run {
                let listener = try Fixture.tcpListener("127.0.0.1:8080")
                let byName = runner.run(probe("by-name", .tcp, "localhost:8080", source: "127.0.0.1"))
                let unknown = runner.run(probe("unknown", .tcp, "no-such-host.invalid:8080", timeout: .seconds(2)))
                return (listener, byName, unknown)
            }
            #expect(byName.succeeded, "\(byName.detail)")
            #expect(byName.remote == ep("127.0.0.1:8080"))
            #expect(unknown.failure == .other || unknown.failure == .etimedout)
            #expect(unknown.detail.contains("no-such-host.invalid"))
            // Whatever the resolver does, the run ends by its timeout.
            #expect(unknown.duration < .milliseconds(2_500))
            withExtendedLifetime(listener) {}
        }

        @Test func anUnreachableNetworkIsEhostunreach() throws {
            let ns = try NetworkNamespace()
            let result = try ns.run { runner.run(probe("far", .tcp, "192.0.2.1:80")) }
            #expect(result.failure == .ehostunreach, "\(result.detail)")
        }

        /// A listener whose accept queue is full drops new SYNs: the handshake never ends.
        @Test func aHandshakeThatNeverEndsTimesOutOnTime() throws {
            let ns = try NetworkNamespace()
            let (listener, queued, result) = try ns.run {
                let listener = try Fixture.tcpListener("127.0.0.2:80", backlog: 0)
                // With a backlog of 0 the queue holds one connection; later SYNs are dropped.
                let queued = try fill(.tcp, toward: "127.0.0.2:80", limit: 1).sockets
                return (listener, queued, runner.run(probe("slow", .tcp, "127.0.0.2:80", timeout: .milliseconds(300))))
            }
            #expect(queued.count == 1)
            #expect(result.failure == .etimedout, "\(result.detail)")
            #expect(result.duration >= .milliseconds(300))
            #expect(result.duration < .milliseconds(1_300))
            withExtendedLifetime(listener) {}
        }

        @Test(arguments: [ConnectOptions.Method.connectx, .plain])
        func aFullRangeTowardTheTargetIsEaddrnotavailForTCPAndEagainForUDP(method: ConnectOptions.Method) throws {
            let ns = try NetworkNamespace()
            // An even number of ports: the kernel's connect-time search rounds the size down to even.
            try ns.setPortRange(low: 40000, high: 40003)
            let listener = try ns.run { try Fixture.tcpListener("127.0.0.2:80") }
            var fillers: [TestSocket] = []
            let (tcpErrno, udpErrno, tcpFull, udpFull) = try ns.run {
                let tcpFill = try fill(.tcp, toward: "127.0.0.2:80")
                let udpFill = try fill(.udp, toward: "127.0.0.2:53")
                fillers = tcpFill.sockets + udpFill.sockets
                return (tcpFill.errno, udpFill.errno, runner.run(probe("tcp", .tcp, "127.0.0.2:80", method: method)),
                        runner.run(probe("udp", .udp, "127.0.0.2:53", method: method)))
            }
            #expect(fillers.count == 8)
            #expect(tcpErrno == EADDRNOTAVAIL && udpErrno == EAGAIN)
            #expect(tcpFull.failure == .eaddrnotavail, "\(tcpFull.detail)")
            #expect(udpFull.failure == .eagain, "\(udpFull.detail)")

            // Free the ports (TCP with a reset: no TIME_WAIT) and the probes recover.
            fillers.removeAll()
            let (tcpFree, udpFree) = try ns.run {
                (runner.run(probe("tcp", .tcp, "127.0.0.2:80", method: method)), runner.run(probe("udp", .udp, "127.0.0.2:53", method: method)))
            }
            #expect(tcpFree.succeeded, "\(tcpFree.detail)")
            #expect(udpFree.succeeded, "\(udpFree.detail)")
            #expect(tcpFree.local.map { (40000...40003).contains($0.port) } == true)
            #expect(udpFree.local.map { (40000...40003).contains($0.port) } == true)
            withExtendedLifetime(listener) {}
        }

        /// The difference that motivates ConnectX: every port of the source address is held by
        /// a connection toward another destination. `bind(ip, 0)` finds no port at all, while
        /// ConnectX shares one with a connection going elsewhere.
        @Test func withTheSourceFixedPlainBindFailsWhileConnectXSucceeds() throws {
            let ns = try NetworkNamespace()
            try ns.setPortRange(low: 40000, high: 40003)
            let (listener, elsewhere, plain, connectx) = try ns.run {
                let listener = try Fixture.tcpListener("0.0.0.0:80")
                let elsewhere = try fill(.tcp, toward: "127.0.0.3:80", from: "127.0.0.1:0", bindAddressNoPort: true)
                return (listener, elsewhere,
                        runner.run(probe("plain", .tcp, "127.0.0.2:80", source: "127.0.0.1", method: .plain)),
                        runner.run(probe("connectx", .tcp, "127.0.0.2:80", source: "127.0.0.1", method: .connectx)))
            }
            #expect(elsewhere.sockets.count == 4 && elsewhere.errno == EADDRNOTAVAIL)
            #expect(plain.failure == .eaddrinuse, "\(plain.detail)")
            #expect(connectx.succeeded, "\(connectx.detail)")
            #expect(connectx.local.map { $0.address == IPAddress("127.0.0.1") && (40000...40003).contains($0.port) } == true)
            withExtendedLifetime((listener, elsewhere)) {}
        }

        @Test func withTheSourceFixedPlainUDPBindFailsWhileConnectXSucceeds() throws {
            let ns = try NetworkNamespace()
            try ns.setPortRange(low: 40000, high: 40003)
            let (elsewhere, plain, connectx) = try ns.run {
                var elsewhere: [ConnectedSocket] = []
                for _ in 0..<10 {
                    guard let socket = try? ConnectX.connect(to: ep("127.0.0.3:53"), from: ep("127.0.0.1"), protocol: .udp) else { break }
                    elsewhere.append(socket)
                }
                return (elsewhere,
                        runner.run(probe("plain", .udp, "127.0.0.2:53", source: "127.0.0.1", method: .plain)),
                        runner.run(probe("connectx", .udp, "127.0.0.2:53", source: "127.0.0.1", method: .connectx)))
            }
            #expect(elsewhere.count == 4)
            #expect(plain.failure == .eaddrinuse, "\(plain.detail)")
            #expect(connectx.succeeded, "\(connectx.detail)")
            withExtendedLifetime(elsewhere) {}
        }

        @Test(arguments: [ConnectOptions.Method.connectx, .plain])
        func udpSendAndExpectAgainstAnEchoServer(method: ConnectOptions.Method) throws {
            let ns = try NetworkNamespace()
            let (echo, wrong) = try ns.run {
                (try UDPServer(Fixture.bound(.udp, "127.0.0.2:53"), answer: .echo),
                 try UDPServer(Fixture.bound(.udp, "127.0.0.2:54"), answer: .reply(Array("nope".utf8))))
            }
            defer { echo.stop(); wrong.stop() }
            let (good, bad, mismatch) = try ns.run {
                (runner.run(probe("echo", .udp, "127.0.0.2:53", method: method, send: "ping", expect: "ping")),
                 runner.run(probe("wrong", .udp, "127.0.0.2:54", method: method, send: "ping", expect: "ping")),
                 runner.run(probe("prefix", .udp, "127.0.0.2:53", method: method, send: "ping", expect: "pong")))
            }
            #expect(good.succeeded, "\(good.detail)")
            #expect(good.local?.address == IPAddress("127.0.0.1"))
            #expect(bad.failure == .unexpectedReply)
            #expect(bad.detail.contains("\"nope\""))
            #expect(mismatch.failure == .unexpectedReply)
            #expect(echo.count == 2)
            #expect(wrong.count == 1)
        }

        @Test func udpWithoutAServerIsRefusedAndASilentOneTimesOut() throws {
            let ns = try NetworkNamespace()
            let silent = try ns.run { try UDPServer(Fixture.bound(.udp, "127.0.0.2:53"), answer: .silent) }
            defer { silent.stop() }
            let (refused, quiet, empty) = try ns.run {
                (runner.run(probe("refused", .udp, "127.0.0.2:99", send: "x", expect: "x")),
                 runner.run(probe("quiet", .udp, "127.0.0.2:53", timeout: .milliseconds(300), send: "x", expect: "x")),
                 runner.run(probe("connect-only", .udp, "127.0.0.2:99")))
            }
            #expect(refused.failure == .econnrefused, "\(refused.detail)")
            #expect(quiet.failure == .etimedout, "\(quiet.detail)")
            #expect(quiet.duration >= .milliseconds(300) && quiet.duration < .milliseconds(1_300))
            #expect(silent.count == 1)
            // Without send, a UDP probe proves a port can be had toward the target, nothing more.
            #expect(empty.succeeded, "\(empty.detail)")
        }

        /// While the probe waits for its reply, another socket takes the same 4-tuple (the probe's
        /// socket re-enables SO_REUSEADDR after connecting, as ConnectX does, so a careless
        /// application can): the newest socket on a tuple receives, and the reply is lost.
        @Test func aUDPProbeWhoseRepliesGoToAnotherSocketIsOvershadowed() throws {
            let ns = try NetworkNamespace()
            let (shadow, server) = try ns.run {
                let shadow = try TestSocket(.ipv4, .udp)
                return (shadow, try UDPServer(Fixture.bound(.udp, "127.0.0.2:53"), answer: .overshadow(shadow)))
            }
            defer { server.stop() }
            let result = try ns.run {
                runner.run(probe("shadowed", .udp, "127.0.0.2:53", timeout: .milliseconds(500), send: "ping", expect: "ping"))
            }
            #expect(result.failure == .overshadowed, "\(result.detail)")
            #expect(shadow.local == result.local)
            // The reply went to the newer socket.
            var buffer = [UInt8](repeating: 0, count: 16)
            #expect(recv(shadow.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) == 4)
        }

        /// A fixed source port whose 4-tuple toward the target another socket already holds
        /// (with SO_REUSEADDR, connected): neither method silently shares it. `plain` cannot
        /// bind; ConnectX sees the holder before connecting.
        @Test(arguments: [ConnectOptions.Method.connectx, .plain])
        func aFixedSourcePortWhoseTupleIsHeldIsEaddrinuse(method: ConnectOptions.Method) throws {
            let ns = try NetworkNamespace()
            let (holder, result) = try ns.run {
                let holder = try Fixture.bound(.udp, "127.0.0.1:40100", reuseAddress: true)
                #expect(holder.connectError("127.0.0.2:53") == 0)
                return (holder, runner.run(probe("fixed", .udp, "127.0.0.2:53", source: "127.0.0.1:40100", method: method)))
            }
            #expect(result.failure == .eaddrinuse, "\(result.detail)")
            withExtendedLifetime(holder) {}
        }

        @Test func tcpSendAndExpect() throws {
            let ns = try NetworkNamespace()
            let (banner, closer) = try ns.run {
                (try TCPServer(Fixture.tcpListener("127.0.0.2:22"), readBytes: 5, reply: Array("SSH-2.0-test\r\n".utf8)),
                 try TCPServer(Fixture.tcpListener("127.0.0.2:23"), readBytes: 5, reply: []))
            }
            defer { banner.stop(); closer.stop() }
            let (good, wrong, closed) = try ns.run {
                (runner.run(probe("ssh", .tcp, "127.0.0.2:22", send: "hello", expect: "SSH-2.0")),
                 runner.run(probe("http", .tcp, "127.0.0.2:22", send: "hello", expect: "HTTP/1.1")),
                 runner.run(probe("closed", .tcp, "127.0.0.2:23", send: "hello", expect: "")))
            }
            #expect(good.succeeded, "\(good.detail)")
            #expect(wrong.failure == .unexpectedReply)
            #expect(wrong.detail.contains("SSH-2"))
            #expect(closed.failure == .unexpectedReply)
            #expect(closed.detail.contains("closed"))
        }
    }
}
