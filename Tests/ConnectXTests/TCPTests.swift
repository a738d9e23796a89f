#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ConnectX
import SocketModel
import SystemPackage
import ConnectXTestSupport
import TestSupport

@Suite struct TCPTests {
    @Test func secondConnectionOnTheSameTupleIsRefusedAndAnotherDestinationReusesThePort() throws {
        let ns = try NetworkNamespace()
        let (listener, first, clash, other) = try ns.run {
            let listener = try Fixture.tcpListener("0.0.0.0:80")
            let source = ep("127.0.0.1:45000")
            let first = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.2:80"), from: source, protocol: .tcp) }
            let clash = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.2:80"), from: source, protocol: .tcp) }
            let other = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.3:80"), from: source, protocol: .tcp) }
            return (listener, first, clash, other)
        }
        let firstSocket = try first.get()
        #expect(firstSocket.local == ep("127.0.0.1:45000"))
        #expect(firstSocket.technique == .reuseAddressBind)
        #expect(clash.failure?.errno == .addressNotAvailable)
        #expect(clash.failure?.step == .connect)
        #expect(try other.get().local == ep("127.0.0.1:45000"))
        #expect(try other.get().remote == ep("127.0.0.3:80"))
        withExtendedLifetime(listener) {}
    }

    @Test func wildcardAddressWithAnExplicitPort() throws {
        let ns = try NetworkNamespace()
        let (listener, first, clash) = try ns.run {
            let listener = try Fixture.tcpListener("0.0.0.0:80")
            let first = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.2:80"), from: ep("0.0.0.0:45001"), protocol: .tcp) }
            let clash = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.2:80"), from: ep("0.0.0.0:45001"), protocol: .tcp) }
            return (listener, first, clash)
        }
        let socket = try first.get()
        #expect(socket.local == ep("127.0.0.1:45001"))
        #expect(clash.failure?.errno == .addressNotAvailable)
        withExtendedLifetime(listener) {}
    }

    // Ranges here have an even number of ports: the kernel's connect-time search rounds the
    // range's size down to even (`remaining &= ~1` in __inet_hash_connect), so with an odd
    // size plain connect() never picks the last port.
    @Test(arguments: [nil, "127.0.0.1"])
    func theFullRangeIsUsableForEachDestination(source: String?) throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40005)
        let (listener, toFirst, toSecond) = try ns.run {
            let listener = try Fixture.tcpListener("0.0.0.0:80")
            let from = source.map(ep)
            let toFirst = connectUntilFailure { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.2:80"), from: from, protocol: .tcp) }
            let toSecond = connectUntilFailure { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.3:80"), from: from, protocol: .tcp) }
            return (listener, toFirst, toSecond)
        }
        let range = Set(UInt16(40000)...UInt16(40005))
        for result in [toFirst, toSecond] {
            #expect(Set(result.sockets.map(\.local.port)) == range)
            #expect(result.sockets.count == 6)
            #expect(result.failure?.errno == .addressNotAvailable)
            #expect(result.failure?.step == .connect)
            #expect(result.sockets.allSatisfy { $0.technique == (source == nil ? .connect : .bindAddressNoPort) })
        }
        withExtendedLifetime(listener) {}
    }

    @Test func reservedPortsAreRespected() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 10, high: 21, reserved: "11,14-18,19")
        let (listener, results) = try ns.run {
            let listener = try Fixture.tcpListener("0.0.0.0:8080")
            let results = ["127.0.0.2:8080", "127.0.0.3:8080"].map { destination in
                connectUntilFailure { () throws(ConnectXError) in
                    try ConnectX.connect(to: ep(destination), from: ep("127.0.0.1"), protocol: .tcp)
                }
            }
            return (listener, results)
        }
        for result in results {
            #expect(result.sockets.map(\.local.port).sorted() == [10, 12, 13, 20, 21])
            #expect(result.failure?.errno == .addressNotAvailable)
        }
        withExtendedLifetime(listener) {}
    }

    @Test func neverSharesAPortWithASocketBoundToIt() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40003)
        let (held, result) = try ns.run {
            let listener = try Fixture.tcpListener("0.0.0.0:80")
            let occupant = try Fixture.bound(.tcp, "0.0.0.0:40001", reuseAddress: true)
            let result = connectUntilFailure { () throws(ConnectXError) in
                try ConnectX.connect(to: ep("127.0.0.2:80"), from: ep("127.0.0.1"), protocol: .tcp)
            }
            return ([listener, occupant], result)
        }
        #expect(result.sockets.map(\.local.port).sorted() == [40000, 40002, 40003])
        #expect(result.failure?.errno == .addressNotAvailable)
        withExtendedLifetime(held) {}
    }

    @Test func perSocketPortRange() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40099)
        let (listener, result) = try ns.run {
            let listener = try Fixture.tcpListener("0.0.0.0:80")
            let options = ConnectOptions(portRange: 40010...40012)
            let result = connectUntilFailure { () throws(ConnectXError) in
                try ConnectX.connect(to: ep("127.0.0.2:80"), from: ep("127.0.0.1"), protocol: .tcp, options: options)
            }
            return (listener, result)
        }
        #expect(result.sockets.map(\.local.port).sorted() == [40010, 40011, 40012])
        #expect(result.failure?.errno == .addressNotAvailable)
        withExtendedLifetime(listener) {}
    }

    @Test func ipv6AndLinkLocalWithAScope() throws {
        let ns = try NetworkNamespace()
        try ns.addLinkLocal(["fe80::1", "fe80::2"])
        try ns.setPortRange(low: 40000, high: 40001)
        let (listener, loopback, linkLocal, explicitPort) = try ns.run {
            let listener = try Fixture.tcpListener("[::]:80")
            let loopback = connectUntilFailure { () throws(ConnectXError) in
                try ConnectX.connect(to: ep("[::1]:80"), from: ep("::1"), protocol: .tcp)
            }
            // The scope comes with the destination; the source takes it.
            let linkLocal = connectUntilFailure { () throws(ConnectXError) in
                try ConnectX.connect(to: ep("[fe80::2%lo]:80"), from: ep("fe80::1"), protocol: .tcp)
            }
            let explicitPort = attempt { () throws(ConnectXError) in
                try ConnectX.connect(to: ep("[fe80::2]:80"), from: ep("[fe80::1%1]:45000"), protocol: .tcp)
            }
            return (listener, loopback, linkLocal, explicitPort)
        }
        #expect(loopback.sockets.map(\.local.port).sorted() == [40000, 40001])
        #expect(loopback.sockets.allSatisfy { $0.local.address == .ipv6Loopback })
        #expect(loopback.failure?.errno == .addressNotAvailable)
        #expect(linkLocal.sockets.map(\.local.port).sorted() == [40000, 40001])
        #expect(linkLocal.sockets.allSatisfy { $0.local.address == IPAddress("fe80::1") && $0.local.scopeID == 1 })
        #expect(linkLocal.sockets.allSatisfy { $0.remote == ep("[fe80::2%1]:80") })
        #expect(linkLocal.failure?.errno == .addressNotAvailable)
        #expect(try explicitPort.get().local == ep("[fe80::1%1]:45000"))
        withExtendedLifetime(listener) {}
    }

    @Test func aLinkLocalDestinationWithoutAScopeIsRefusedUpFront() {
        let error = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("[fe80::2]:80"), protocol: .tcp) }.failure
        #expect(error?.step == .arguments)
        #expect(error?.errno == .invalidArgument)
        let mixed = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("[::1]:80"), from: ep("127.0.0.1"), protocol: .tcp) }.failure
        #expect(mixed?.step == .arguments)
        #expect(mixed?.errno == .addressFamilyNotSupported)
    }

    @Test func refusedAndTimedOutHandshakesReportTheirErrno() throws {
        let ns = try NetworkNamespace()
        let (refused, timedOut, elapsed, held) = try ns.run {
            let refused = attempt { () throws(ConnectXError) in try ConnectX.connect(to: ep("127.0.0.2:81"), protocol: .tcp) }
            // A listener whose accept queue is full drops SYNs: the handshake never completes.
            let listener = try Fixture.tcpListener("127.0.0.2:82", backlog: 0)
            var filling: [ConnectedSocket] = []
            for _ in 0..<2 {
                if case .success(let socket) = attempt({ () throws(ConnectXError) in
                    try ConnectX.connect(to: ep("127.0.0.2:82"), protocol: .tcp, options: ConnectOptions(timeout: .milliseconds(300)))
                }) { filling.append(socket) }
            }
            let start = ContinuousClock.now
            let timedOut = attempt { () throws(ConnectXError) in
                try ConnectX.connect(to: ep("127.0.0.2:82"), protocol: .tcp, options: ConnectOptions(timeout: .milliseconds(200)))
            }
            return (refused, timedOut, ContinuousClock.now - start, (listener, filling))
        }
        #expect(refused.failure?.errno == .connectionRefused)
        #expect(refused.failure?.step == .connect)
        #expect(timedOut.failure?.errno == .timedOut)
        #expect(elapsed >= .milliseconds(190) && elapsed < .seconds(2))
        withExtendedLifetime(held) {}
    }

    @Test func closingReleasesTheDescriptorOnce() throws {
        let ns = try NetworkNamespace()
        let (listener, socket) = try ns.run {
            let listener = try Fixture.tcpListener("127.0.0.2:80")
            return (listener, try ConnectX.connect(to: ep("127.0.0.2:80"), protocol: .tcp))
        }
        let fd = socket.fileDescriptor.rawValue
        #expect(fcntl(fd, F_GETFD) >= 0)
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK == 0)
        socket.close()
        #expect(!socket.isOpen)
        #expect(fcntl(fd, F_GETFD) == -1 && errno == EBADF)
        socket.close()
        #expect(socket.release() == nil)
        withExtendedLifetime(listener) {}
    }
}
