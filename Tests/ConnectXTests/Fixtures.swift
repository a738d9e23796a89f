#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ConnectX
import SocketModel
import SystemPackage
import ConnectXTestSupport
import TestSupport

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
    /// and waits until they are usable.
    func addLinkLocal(_ addresses: [String]) throws {
        for address in addresses {
            let result = try spawn(["ip", "-6", "addr", "add", "\(address)/64", "dev", "lo", "nodad"])
            guard result.status == 0 else { throw Failure("ip addr add \(address): \(result.stderr)") }
        }
        // Even without duplicate detection the kernel routes an address only once its addrconf
        // work item ran, after `ip` returned (on a loaded machine, connects in between fail
        // with ENETUNREACH), and says nothing when it did: poll the local routing table, bounded.
        try waitUntil("local routes for \(addresses)", timeout: .seconds(10)) {
            let routes = try spawn(["ip", "-6", "route", "show", "table", "local", "dev", "lo"]).stdout
            return addresses.allSatisfy { routes.contains("local \($0) ") }
        }
    }
}
