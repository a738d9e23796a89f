#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CTestSupport
import Synchronization

/// A private network namespace owned by one dedicated thread.
///
/// A network namespace belongs to a thread: `unshare(CLONE_NEWNET)` moves only the calling
/// thread, and Swift tasks hop between threads. So this type starts one thread, moves it into
/// a new namespace, and runs every closure given to `run(_:)` on that thread, synchronously.
/// Sockets created there stay in the namespace wherever they are used afterwards; files under
/// `/proc/sys/net` opened there are the namespace's; child processes spawned there start in it.
public final class NetworkNamespace: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [() -> Void] = []
    private var stopping = false
    private var thread: Thread?

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Starts the thread, unshares its network namespace and brings loopback up.
    public init() throws {
        let started = Mutex<Result<Void, Failure>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [unowned self] in
            if pp_unshare_netns() != 0 {
                started.withLock { $0 = .failure(Failure("unshare(CLONE_NEWNET): \(String(cString: strerror(errno))) (tests need root)")) }
                ready.signal()
                return
            }
            started.withLock { $0 = .success(()) }
            ready.signal()
            self.serve()
        }
        thread.name = "netns"
        self.thread = thread
        thread.start()
        ready.wait()
        try started.withLock { $0! }.get()
        try run { try Self.bringLoopbackUp() }
    }

    deinit {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping { condition.unlock(); return }
            let job = pending.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// Runs `body` on the namespace's thread and returns its result. Blocks the caller.
    public func run<T>(_ body: @escaping () throws -> T) throws -> T {
        // The semaphore orders the write on the namespace thread before the read here.
        let slot = ResultSlot<T>()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let body = body
        condition.lock()
        pending.append {
            slot.result = Result { try body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return try slot.result!.get()
    }

    /// Writes `value` to `/proc/sys/<name with dots as slashes>` inside the namespace.
    public func sysctl(_ name: String, _ value: String) throws {
        try run { try Self.writeFile("/proc/sys/" + name.replacingOccurrences(of: ".", with: "/"), value) }
    }

    /// Reads `/proc/sys/<name>` inside the namespace, without the trailing newline.
    public func readSysctl(_ name: String) throws -> String {
        try run {
            let path = "/proc/sys/" + name.replacingOccurrences(of: ".", with: "/")
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Narrows the ephemeral range (lowering `ip_unprivileged_port_start` first when the range
    /// starts below it, as the kernel requires) and sets the reserved ports.
    public func setPortRange(low: Int, high: Int, reserved: String = "") throws {
        if low < 1024 { try sysctl("net.ipv4.ip_unprivileged_port_start", String(max(0, low - 1))) }
        try sysctl("net.ipv4.ip_local_port_range", "\(low) \(high)")
        try sysctl("net.ipv4.ip_local_reserved_ports", reserved.isEmpty ? "\n" : reserved)
    }

    /// Runs a program inside the namespace and returns its exit status and output.
    /// The child is spawned from the namespace's thread, so it starts in the namespace.
    public func spawn(_ arguments: [String], input: String? = nil) throws -> ProcessResult {
        try run { try ProcessResult.run(arguments, input: input) }
    }

    static func writeFile(_ path: String, _ value: String) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw Failure("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw Failure("write \(path) \(value.debugDescription): \(String(cString: strerror(errno)))") }
    }

    /// `ip link set lo up`, done with SIOCSIFFLAGS on a socket of this thread's namespace.
    static func bringLoopbackUp() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var request = ifreq()
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { name in
            for (i, c) in "lo".utf8.enumerated() { name[i] = c }
        }
        guard ioctl(fd, UInt(SIOCGIFFLAGS), &request) == 0 else { throw Failure("SIOCGIFFLAGS lo: \(String(cString: strerror(errno)))") }
        request.ifr_ifru.ifru_flags |= Int16(IFF_UP)
        guard ioctl(fd, UInt(SIOCSIFFLAGS), &request) == 0 else { throw Failure("SIOCSIFFLAGS lo: \(String(cString: strerror(errno)))") }
    }
}

/// One result handed from the namespace thread to the caller; a semaphore orders the accesses.
private final class ResultSlot<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// What a finished child process left.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdoutBytes: [UInt8]
    public let stderr: String
    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }

    /// Runs `arguments[0]` (a path, or a name looked up in PATH) to completion.
    public static func run(_ arguments: [String], input: String? = nil) throws -> ProcessResult {
        try run(arguments, inputBytes: input.map { Array($0.utf8) })
    }

    /// Runs `arguments[0]` to completion with `inputBytes` on its stdin (written while its
    /// output is drained, so neither side can block the other).
    public static func run(_ arguments: [String], inputBytes: [UInt8]?) throws -> ProcessResult {
        let child = try SpawnedChild.start(arguments)
        let out = OutputBuffer(), err = OutputBuffer()
        let done = DispatchGroup()
        for (fd, sink) in [(child.stdout, out), (child.stderr, err)] {
            done.enter()
            SpawnedChild.drain(fd, into: sink) { done.leave() }
        }
        if let inputBytes { SpawnedChild.write(child.stdin, inputBytes) }
        close(child.stdin)
        done.wait()
        let ending = SpawnedChild.wait(child.pid, timeout: nil)!
        return ProcessResult(status: ending.code, stdoutBytes: out.data, stderr: err.text)
    }
}

/// Decompresses with `gzip -dc`: an implementation independent of the server's zlib use.
public func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let result = try ProcessResult.run(["gzip", "-dc"], inputBytes: bytes)
    guard result.status == 0 else { throw NetworkNamespace.Failure("gzip -dc exited \(result.status): \(result.stderr)") }
    return result.stdoutBytes
}
