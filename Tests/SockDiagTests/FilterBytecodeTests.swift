import Testing
@testable import SockDiag
import SocketModel
import TestSupport

@Suite struct FilterBytecodeTests {
    func compile(_ filter: SocketFilter) throws -> [UInt8] { try FilterBytecode.compile(filter) }

    @Test func portEqualityIsOneOperationAndItsArgument() throws {
        // S_EQ, yes = 8, no = 12 (end + 4: reject); then {0, 0, port}.
        #expect(try compile(.localPort(80)) == [11, 8, 12, 0, 0, 0, 80, 0])
        #expect(try compile(.remotePort(0x1234)) == [12, 8, 12, 0, 0, 0, 0x34, 0x12])
    }

    @Test func addressConditionIsAHostPrefix() throws {
        // D_COND, yes = 16, no = 20; hostcond {AF_INET, /32, pad, port -1}; the address.
        #expect(try compile(.remoteAddress(IPAddress("127.0.0.1")!))
                == [8, 16, 20, 0, 2, 32, 0, 0, 0xff, 0xff, 0xff, 0xff, 127, 0, 0, 1])
        let v6 = try compile(.localAddress(IPAddress("2001:db8::1")!))
        #expect(v6.count == 28)
        #expect(Array(v6[0..<6]) == [7, 28, 32, 0, 10, 128])
        #expect(Array(v6[12...]) == IPAddress("2001:db8::1")!.networkBytes)
    }

    @Test func emptyConjunctionMatchesAllAndEmptyDisjunctionNothing() throws {
        #expect(try compile(.all([])) == [0, 4, 4, 0])
        #expect(try compile(.any([])) == [1, 4, 8, 0])
    }

    @Test func disjunctionJumpsOverTheRestOnAMatch() throws {
        // S_EQ 1 (no: to the next try) | JMP to end | S_EQ 2 (no: reject)
        #expect(try compile(.any([.localPort(1), .localPort(2)]))
                == [11, 8, 12, 0, 0, 0, 1, 0, 1, 4, 12, 0, 11, 8, 12, 0, 0, 0, 2, 0])
    }

    @Test func tooLargeFilterIsRefused() {
        let huge = SocketFilter.any((0..<6000).map { .localPort(UInt16($0)) })
        #expect(throws: WireError.self) { try FilterBytecode.compile(huge) }
        let fits = SocketFilter.any((0..<5000).map { .localPort(UInt16($0)) })
        #expect(throws: Never.self) { try FilterBytecode.compile(fits) }
    }

    static let addresses = ["127.0.0.1", "127.0.0.2", "10.0.0.1", "::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"].map { IPAddress($0)! }
    static let ports: [UInt16] = [0, 53, 8080, 40000]

    static func randomFilter(_ rng: inout SplitMix64, depth: Int) -> SocketFilter {
        let pick = Int(rng.next() % (depth > 0 ? 6 : 4))
        switch pick {
        case 0: return .localAddress(addresses[Int(rng.next() % UInt64(addresses.count))])
        case 1: return .remoteAddress(addresses[Int(rng.next() % UInt64(addresses.count))])
        case 2: return .localPort(ports[Int(rng.next() % UInt64(ports.count))])
        case 3: return .remotePort(ports[Int(rng.next() % UInt64(ports.count))])
        case 4: return .all((0..<Int(rng.next() % 4)).map { _ in randomFilter(&rng, depth: depth - 1) })
        default: return .any((0..<Int(rng.next() % 4)).map { _ in randomFilter(&rng, depth: depth - 1) })
        }
    }

    static func randomEntry(_ rng: inout SplitMix64) -> BytecodeMachine.Entry {
        let family: AddressFamily = rng.next() % 2 == 0 ? .ipv4 : .ipv6
        let pool = addresses.filter { $0.family == family }
        func endpoint() -> SocketEndpoint {
            SocketEndpoint(address: pool[Int(rng.next() % UInt64(pool.count))], port: ports[Int(rng.next() % UInt64(ports.count))])
        }
        return BytecodeMachine.Entry(family: family, local: endpoint(), remote: endpoint())
    }

    /// Every compiled program passes the kernel's audit and, run like the kernel runs it,
    /// accepts exactly the sockets the filter describes.
    @Test func compiledProgramsAgreeWithTheFilterOnRandomCases() throws {
        var rng = SplitMix64(state: 0x5eed)
        var accepted = 0, rejected = 0
        for _ in 0..<600 {
            let filter = Self.randomFilter(&rng, depth: 3)
            let program = try compile(filter)
            #expect(BytecodeMachine.audit(program), "audit refuses \(filter): \(program)")
            for _ in 0..<25 {
                let entry = Self.randomEntry(&rng)
                let want = reference(filter, entry.family, entry.local, entry.remote)
                let got = BytecodeMachine.run(program, on: entry)
                #expect(got == want, "\(filter) on \(entry)")
                if got { accepted += 1 } else { rejected += 1 }
            }
        }
        // Both outcomes were exercised, not one by accident.
        #expect(accepted > 1000 && rejected > 1000)
    }
}

@Suite struct RequestEncodingTests {
    func u32(_ b: [UInt8], _ at: Int) -> UInt32 { b[at..<(at + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
    func u16(_ b: [UInt8], _ at: Int) -> UInt16 { b[at..<(at + 2)].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) } }

    @Test func dumpRequestIsHeaderAndInetDiagReqV2() throws {
        let request = try InetDiagRequest.dump(DumpQuery(proto: .udp, family: .ipv6), sequence: 0x0102_0304)
        #expect(request.count == 16 + 56)
        #expect(u32(request, 0) == 72)
        #expect(u16(request, 4) == 20)            // SOCK_DIAG_BY_FAMILY
        #expect(u16(request, 6) == 0x301)         // NLM_F_REQUEST | NLM_F_DUMP
        #expect(u32(request, 8) == 0x0102_0304)
        #expect(u32(request, 12) == 0)
        #expect(Array(request[16..<20]) == [10, 17, 0, 0])  // AF_INET6, IPPROTO_UDP, no extensions
        #expect(u32(request, 20) == 0x3ffe)       // states 1...13
        #expect(request[24..<64].allSatisfy { $0 == 0 })
        #expect(request[64..<72].allSatisfy { $0 == 0xff })  // INET_DIAG_NOCOOKIE
    }

    /// A TCP dump of both families is the older TCPDIAG_GETSOCK request: `struct inet_diag_req`
    /// with AF_UNSPEC (family, src_len, dst_len, ext, the socket id, states, dbs).
    @Test func bothFamiliesTCPDumpIsTheCompatRequest() throws {
        let request = try InetDiagRequest.dump(DumpQuery(proto: .tcp, family: nil), sequence: 9)
        #expect(request.count == 16 + 60)
        #expect(u32(request, 0) == 76)
        #expect(u16(request, 4) == 18)            // TCPDIAG_GETSOCK
        #expect(u16(request, 6) == 0x301)
        #expect(Array(request[16..<20]) == [0, 0, 0, 0])      // AF_UNSPEC, no prefixes, no extensions
        #expect(request[20..<60].allSatisfy { $0 == 0 })      // ports, addresses, interface
        #expect(request[60..<68].allSatisfy { $0 == 0xff })   // INET_DIAG_NOCOOKIE
        #expect(u32(request, 68) == 0x3ffe)                   // idiag_states
        #expect(u32(request, 72) == 0)                        // idiag_dbs
        #expect(throws: WireError.self) { try InetDiagRequest.dump(DumpQuery(proto: .udp, family: nil), sequence: 1) }
    }

    @Test func filteredDumpAppendsTheBytecodeAttribute() throws {
        let request = try InetDiagRequest.dump(DumpQuery(proto: .tcp, family: .ipv4, filter: .localPort(80)), sequence: 1)
        #expect(request.count == 72 + 4 + 8)
        #expect(u32(request, 0) == UInt32(request.count))
        #expect(u16(request, 72) == 12)           // nla_len
        #expect(u16(request, 74) == 1)            // INET_DIAG_REQ_BYTECODE
        #expect(Array(request[76...]) == [11, 8, 12, 0, 0, 0, 80, 0])
    }

    @Test func tcpLookupPutsLocalFirstAndUDPRemoteFirst() throws {
        let local = SocketEndpoint.at("10.0.0.1", 0x1111)
        let remote = SocketEndpoint.at("10.0.0.2", 0x2222)
        let tcp = InetDiagRequest.lookup(proto: .tcp, local: local, remote: remote, interfaceIndex: 7, cookie: nil, sequence: 3)
        #expect(tcp.count == 72)
        #expect(u16(tcp, 6) == 0x1)               // NLM_F_REQUEST only: not a dump
        #expect(Array(tcp[16..<18]) == [2, 6])
        #expect(Array(tcp[24..<28]) == [0x11, 0x11, 0x22, 0x22])  // sport, dport big-endian
        #expect(Array(tcp[28..<32]) == [10, 0, 0, 1])
        #expect(Array(tcp[44..<48]) == [10, 0, 0, 2])
        #expect(u32(tcp, 60) == 7)
        let udp = InetDiagRequest.lookup(proto: .udp, local: local, remote: remote, interfaceIndex: 0, cookie: 0x0000_0005_0000_0009, sequence: 3)
        #expect(Array(udp[24..<28]) == [0x22, 0x22, 0x11, 0x11])  // swapped: src is the remote end
        #expect(Array(udp[28..<32]) == [10, 0, 0, 2])
        #expect(Array(udp[44..<48]) == [10, 0, 0, 1])
        #expect(u32(udp, 64) == 9)                // cookie low word first
        #expect(u32(udp, 68) == 5)
    }
}
