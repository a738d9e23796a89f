#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A named network namespace made with `ip netns add pp-test-<random>` (a bind mount in
/// `/run/netns/`, no process needed). Call `delete()` in a `defer` right after creating it.
public final class NamedNetworkNamespace: @unchecked Sendable {
    public let name: String
    public var path: String { "/run/netns/" + name }

    public init(prefix: String = "pp-test") throws {
        name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))-\(getpid())"
        try Self.ip(["netns", "add", name])
        do {
            try Self.ip(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
        } catch {
            delete()
            throw error
        }
    }

    /// `ip netns delete NAME`; harmless when already deleted.
    public func delete() {
        _ = try? ProcessResult.run(["ip", "netns", "delete", name])
    }

    /// Runs `arguments` inside the namespace (`ip netns exec NAME ...`).
    public func spawn(_ arguments: [String]) throws -> ProcessResult {
        try ProcessResult.run(["ip", "netns", "exec", name] + arguments)
    }

    /// Starts a long-running process inside the namespace.
    public func launch(_ arguments: [String]) throws -> RunningProcess {
        try RunningProcess(["ip", "netns", "exec", name] + arguments)
    }

    /// Writes a sysctl inside the namespace.
    public func sysctl(_ name: String, _ value: String) throws {
        let result = try spawn(["sysctl", "-q", "-w", "\(name)=\(value)"])
        guard result.status == 0 else { throw NetworkNamespace.Failure("sysctl \(name)=\(value) in \(self.name): \(result.stderr)") }
    }

    /// The namespace's inode (`stat -L`), as `ip netns identify` and `lsns` name it.
    public var inode: UInt64 {
        get throws {
            var info = stat()
            guard stat(path, &info) == 0 else { throw NetworkNamespace.Failure("stat \(path): \(String(cString: strerror(errno)))") }
            return UInt64(info.st_ino)
        }
    }

    private static func ip(_ arguments: [String]) throws {
        let result = try ProcessResult.run(["ip"] + arguments)
        guard result.status == 0 else { throw NetworkNamespace.Failure("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }
}

extension NetworkNamespace {
    /// The namespace's inode, as `readlink /proc/PID/ns/net` shows it.
    public var inode: UInt64 {
        get throws {
            try run {
                var info = stat()
                guard stat("/proc/thread-self/ns/net", &info) == 0 else { throw Failure("stat: \(String(cString: strerror(errno)))") }
                return UInt64(info.st_ino)
            }
        }
    }
}
