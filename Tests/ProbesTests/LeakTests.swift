#if canImport(Glibc)
import Glibc
#endif
import ConnectX
@testable import Probes
import SockDiag
import ConnectXTestSupport
import TestSupport
import Testing

extension ProbesTests {
    @Suite struct LeakTests {
        /// Thousands of runs of every kind, successes and failures: afterwards the process holds
        /// exactly the namespace sockets it held before (counted in /proc/self/fd).
        @Test func noDescriptorLeaksAfterThousandsOfRuns() throws {
            let ns = try NetworkNamespace()
            let (server, echo, wrong) = try ns.run {
                (try TCPServer(Fixture.tcpListener("127.0.0.2:80"), readBytes: 0, reply: []),
                 try UDPServer(Fixture.bound(.udp, "127.0.0.2:53"), answer: .echo),
                 try UDPServer(Fixture.bound(.udp, "127.0.0.2:54"), answer: .reply([0x21])))
            }
            defer { server.stop(); echo.stop(); wrong.stop() }
            let shared = try ns.run { ProbeRunner(sockDiag: try SockDiagClient()) }
            let perRun = ProbeRunner()
            let kinds: [(ProbeDefinition, ProbeFailureReason?)] = [
                (probe("tcp-ok", .tcp, "127.0.0.2:80"), nil),
                (probe("tcp-plain", .tcp, "127.0.0.2:80", source: "127.0.0.1", method: .plain), nil),
                (probe("tcp-refused", .tcp, "127.0.0.2:81"), .econnrefused),
                (probe("udp-echo", .udp, "127.0.0.2:53", send: "ping", expect: "ping"), nil),
                (probe("udp-plain", .udp, "127.0.0.2:53", method: .plain, send: "ping", expect: "ping"), nil),
                (probe("udp-wrong", .udp, "127.0.0.2:54", send: "ping", expect: "ping"), .unexpectedReply),
                (probe("udp-refused", .udp, "127.0.0.2:55", send: "ping", expect: "ping"), .econnrefused),
                (probe("unreachable", .tcp, "192.0.2.1:80"), .ehostunreach),
            ]
            let rounds = 300
            let (before, mismatches, after) = try ns.run {
                let before = try namespaceSocketDescriptors()
                var mismatches: [String] = []
                for round in 0..<rounds {
                    for (definition, expected) in kinds {
                        let result = (round % 2 == 0 ? shared : perRun).run(definition)
                        if result.failure != expected && mismatches.count < 10 {
                            mismatches.append("\(definition.name): \(result.failure.map(\.rawValue) ?? "ok") \(result.detail)")
                        }
                    }
                }
                return (before, mismatches, try namespaceSocketDescriptors())
            }
            #expect(mismatches.isEmpty, "\(mismatches)")
            // The listener, two servers and the shared runner's netlink socket.
            #expect(before.count == 4)
            #expect(after == before)
            #expect(echo.count == rounds * 2)
            #expect(wrong.count == rounds)
            withExtendedLifetime(shared) {}
        }
    }
}
