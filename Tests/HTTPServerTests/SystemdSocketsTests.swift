import Foundation
import Logging
import Testing
import TestSupport
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

/// `--web.systemd-socket`'s parts: the LISTEN_* protocol and serving on a socket opened elsewhere.
@Suite struct SystemdSocketsTests {
    @Test func passedDescriptorsStartAtThree() throws {
        #expect(try SystemdSockets.descriptors(listenPID: "42", listenFDs: "1", pid: 42) == [3])
        #expect(try SystemdSockets.descriptors(listenPID: "42", listenFDs: "3", pid: 42) == [3, 4, 5])
    }

    @Test(arguments: [
        (nil, "1", "not set"), ("42", nil, "not set"), ("x", "1", "not a process id"), ("41", "1", "for process 41"),
        ("42", "0", "from 1 to 1024"), ("42", "-1", "from 1 to 1024"), ("42", "two", "from 1 to 1024"), ("42", "5000", "from 1 to 1024"),
    ] as [(String?, String?, String)])
    func refusesWhatIsNotForThisProcess(pid: String?, count: String?, message: String) {
        #expect {
            try SystemdSockets.descriptors(listenPID: pid, listenFDs: count, pid: 42)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    /// A listening loopback socket made here, as systemd would make it (blocking, inheritable).
    static func listeningSocket(family: Int32 = AF_INET, type: Int32 = Int32(SOCK_STREAM.rawValue), listening: Bool = true) throws -> Int32 {
        let fd = socket(family, type, 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(INADDR_LOOPBACK).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)
        if listening { try #require(listen(fd, 16) == 0) }
        return fd
    }

    @Test func servesOnAnInheritedSocket() throws {
        let fd = try Self.listeningSocket()
        let server = try HTTPServer(configuration: HTTPServerConfiguration(listenAddresses: [], inheritedSockets: [fd]),
                                    logger: Logger(label: "test.http")) { _ in .text(200, "inherited\n") }
        defer { server.stop() }
        let bound = try #require(server.boundAddresses.first)
        #expect(server.boundAddresses.count == 1 && bound.host == "127.0.0.1" && bound.port != 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        let response = try HTTPClient(port: bound.port).request("GET", "/")
        #expect(response.status == 200 && response.text == "inherited\n")
    }

    @Test func refusesASocketThatDoesNotListen() throws {
        let fd = try Self.listeningSocket(listening: false)
        defer { close(fd) }
        #expect(throws: HTTPServerError.unusableInheritedSocket(fd: fd, reason: "not a listening socket")) {
            try HTTPServer(configuration: HTTPServerConfiguration(listenAddresses: [], inheritedSockets: [fd])) { _ in .text(200, "") }
        }
        let datagram = try Self.listeningSocket(type: Int32(SOCK_DGRAM.rawValue), listening: false)
        defer { close(datagram) }
        #expect(throws: HTTPServerError.unusableInheritedSocket(fd: datagram, reason: "not a stream socket (use ListenStream= in the socket unit)")) {
            try HTTPServer(configuration: HTTPServerConfiguration(listenAddresses: [], inheritedSockets: [datagram])) { _ in .text(200, "") }
        }
    }
}
