#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport

/// A test network namespace: anonymous (made by a test thread, found by discovery through the
/// processes started in it) or named (`ip netns add pp-test-<random>`), with its own range.
final class TestNamespace {
    let anonymous: NetworkNamespace?
    let named: NamedNetworkNamespace?
    private var processes: [RunningProcess] = []

    init(named: Bool) throws {
        if named {
            self.named = try NamedNetworkNamespace()
            anonymous = nil
        } else {
            anonymous = try NetworkNamespace()
            self.named = nil
        }
    }

    /// The `name` label discovery gives it.
    var name: String { named?.name ?? "" }
    var inode: UInt64 { get throws { try anonymous?.inode ?? named!.inode } }
    var netns: String { get throws { String(try inode) } }

    func spawn(_ arguments: [String]) throws -> ProcessResult {
        try anonymous?.spawn(arguments) ?? named!.spawn(arguments)
    }

    func sysctl(_ name: String, _ value: String) throws {
        if let anonymous { try anonymous.sysctl(name, value) } else { try named!.sysctl(name, value) }
    }

    func setRange(low: Int, high: Int, reserved: String) throws {
        try sysctl("net.ipv4.ip_local_port_range", "\(low) \(high)")
        if !reserved.isEmpty { try sysctl("net.ipv4.ip_local_reserved_ports", reserved) }
    }

    /// Starts socketlab with `recipes` inside (or `sleep` when there are none, to hold an
    /// anonymous namespace with a process) and waits until its sockets exist.
    func populate(_ recipes: [String]) throws {
        if recipes.isEmpty {
            guard anonymous != nil else { return }
            processes.append(try anonymous!.launch(["sleep", "600"]))
            return
        }
        let arguments = [BuiltProducts.path("socketlab")] + recipes.flatMap { ["--make", $0] }
        let lab = try anonymous?.launch(arguments) ?? named!.launch(arguments)
        processes.append(lab)
        let ready = try lab.waitForLine(startingWith: "READY", timeout: 60)
        guard !ready.contains("FAILED") else { throw NetworkNamespace.Failure("socketlab: \(ready)") }
    }

    /// Every socket as ss lists it inside the namespace.
    func sockets() throws -> [SocketTableEntry] {
        try KernelView.sockets { try self.spawn($0) }
    }

    func range() throws -> RangeFacts {
        func read(_ name: String) throws -> String {
            let result = try spawn(["cat", "/proc/sys/net/ipv4/" + name])
            guard result.status == 0 else { throw NetworkNamespace.Failure("cat \(name): \(result.stderr)") }
            return result.stdout
        }
        guard let range = RangeFacts(portRange: try read("ip_local_port_range"), reservedPorts: try read("ip_local_reserved_ports")) else {
            throw NetworkNamespace.Failure("unreadable range")
        }
        return range
    }

    /// Stops its processes and deletes a named namespace.
    func close() {
        for process in processes { process.stop() }
        processes = []
        named?.delete()
    }
}
