#if canImport(Glibc)
import Glibc
#endif
import ConnectX
import SocketModel
import TestSupport

/// Parses test literals: `127.0.0.1:80`, `[::1]:80`, `[fe80::1%1]:80`, `127.0.0.1` (port 0).
public func ep(_ text: String) -> ConnectX.Endpoint {
    guard let endpoint = ConnectX.Endpoint(parsing: text, portOptional: true) else { fatalError("bad test literal \(text)") }
    return endpoint
}

extension TestSocket {
    /// The bound local endpoint, as ConnectX spells it (without a scope).
    public var local: ConnectX.Endpoint { ConnectX.Endpoint(try! localEndpoint()) }

    /// `connect(2)` to a test literal; its errno, 0 on success.
    public func connectError(_ text: String) -> Int32 {
        let endpoint = ep(text)
        return connectError(endpoint.socketEndpoint, scope: endpoint.scopeID)
    }
}

/// Fixture sockets, made with the plain calls (not with the code under test), for the
/// ConnectX and probe tests. Make them inside `ns.run` so they live in the test's namespace.
public enum Fixture {
    /// A listening TCP socket on `text` (SO_REUSEADDR so TIME_WAIT of earlier tests is harmless).
    public static func tcpListener(_ text: String, backlog: CInt = 512) throws -> TestSocket {
        let address = ep(text)
        return try TestSocket.tcpListener(address.socketEndpoint, scope: address.scopeID, backlog: backlog)
    }

    /// A socket bound to `text`, optionally with SO_REUSEADDR, optionally connected.
    public static func bound(_ proto: TransportProtocol, _ text: String, reuseAddress: Bool = false,
                             connectedTo peer: String? = nil) throws -> TestSocket {
        let address = ep(text)
        let socket = try TestSocket(address.address.family, proto)
        if reuseAddress { try socket.setOption(SOL_SOCKET, SO_REUSEADDR) }
        try socket.bind(address.socketEndpoint, scope: address.scopeID)
        if let peer {
            let remote = ep(peer)
            try socket.connect(remote.socketEndpoint, scope: remote.scopeID)
        }
        return socket
    }
}
