#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ConnectX
import SocketModel
import SystemPackage
import TestSupport

/// A socket the test made itself (a listener, an occupant); closed on deinit.
final class TestSocket: @unchecked Sendable {
    let fd: CInt
    init(_ fd: CInt) { self.fd = fd }
    deinit { Glibc.close(fd) }

    /// The bound local endpoint.
    var local: ConnectX.Endpoint { try! SocketDescriptor(rawValue: fd).localAddress() }
}

/// Parses test literals: `127.0.0.1:80`, `[::1]:80`, `127.0.0.1` (port 0).
func ep(_ text: String) -> ConnectX.Endpoint {
    guard let endpoint = ConnectX.Endpoint(parsing: text, portOptional: true) else { fatalError("bad test literal \(text)") }
    return endpoint
}

/// Fixture sockets, made with the raw calls (the syscall wrappers only, not ConnectX's logic).
enum Fixture {
    /// A listening TCP socket on `text` (SO_REUSEADDR so TIME_WAIT of earlier tests is harmless).
    static func tcpListener(_ text: String, backlog: CInt = 512) throws -> TestSocket {
        let address = ep(text)
        let fd = try SocketDescriptor.open(address.address.family, .stream)
        let socket = TestSocket(fd.rawValue)
        try fd.setOption(.reuseAddress, 1)
        try fd.bind(SocketAddress(address))
        guard listen(fd.rawValue, backlog) == 0 else { throw Errno(rawValue: errno) }
        return socket
    }

    /// A socket bound to `text`, optionally with SO_REUSEADDR, optionally connected.
    static func bound(_ proto: TransportProtocol, _ text: String, reuseAddress: Bool = false,
                      connectedTo peer: String? = nil) throws -> TestSocket {
        let address = ep(text)
        let fd = try SocketDescriptor.open(address.address.family, proto == .tcp ? .stream : .datagram)
        let socket = TestSocket(fd.rawValue)
        if reuseAddress { try fd.setOption(.reuseAddress, 1) }
        try fd.bind(SocketAddress(address))
        if let peer { try fd.connect(SocketAddress(ep(peer))) }
        return socket
    }
}

/// One connection attempt as a value, so assertions run on the test's own thread.
func attempt(_ body: () throws(ConnectXError) -> ConnectedSocket) -> Result<ConnectedSocket, ConnectXError> {
    Result(catching: body)
}

/// Connects until the first failure or `limit` connections (a bound, never expected to be hit).
func connectUntilFailure(limit: Int = 200, _ body: () throws(ConnectXError) -> ConnectedSocket)
    -> (sockets: [ConnectedSocket], failure: ConnectXError?) {
    var sockets: [ConnectedSocket] = []
    for _ in 0..<limit {
        switch attempt(body) {
        case .success(let socket): sockets.append(socket)
        case .failure(let error): return (sockets, error)
        }
    }
    return (sockets, nil)
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}

extension NetworkNamespace {
    /// Adds IPv6 link-local addresses to `lo` (interface index 1), without duplicate detection,
    /// and waits until each has its local route.
    ///
    /// `ip addr add` returns before the kernel inserts the address's route into the local
    /// table (even with `nodad`, that happens in addrconf's work queue), and a connect() to
    /// the address in between fails with ENETUNREACH (seen 1 time in 30 with plain Python).
    func addLinkLocal(_ addresses: [String]) throws {
        for address in addresses {
            let result = try spawn(["ip", "-6", "addr", "add", "\(address)/64", "dev", "lo", "nodad"])
            guard result.status == 0 else { throw Failure("ip addr add \(address): \(result.stderr)") }
        }
        // Polls the kernel's state (each look is a process start, a few ms), bounded: the work
        // queue runs within milliseconds.
        for _ in 0..<500 {
            let routes = try spawn(["ip", "-6", "route", "show", "table", "local", "dev", "lo"]).stdout
            let installed = routes.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
            if addresses.allSatisfy(installed.contains) { return }
        }
        throw Failure("the local routes of \(addresses) did not appear")
    }
}
