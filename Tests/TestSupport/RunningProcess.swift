#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A child process left running (a socket population, a server), with its output collected.
public final class RunningProcess: @unchecked Sendable {
    public let pid: pid_t
    private var stdinFD: Int32
    private let output = TextBuffer()
    private let errors = TextBuffer()
    private var exitStatus: Int32?

    /// Starts `arguments` (a path, or a name looked up in PATH). Use `NetworkNamespace.launch`
    /// to start it inside a namespace.
    public init(_ arguments: [String]) throws {
        let child = try SpawnedChild.start(arguments)
        pid = child.pid
        stdinFD = child.stdin
        _ = SpawnedChild.drain(child.stdout) { [output] in output.append($0) }
        _ = SpawnedChild.drain(child.stderr) { [errors] in errors.append($0) }
    }

    public var stdout: String { output.text }
    public var stderr: String { errors.text }

    /// True while the child has not exited (reaps it when it has).
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            return false
        }
        return r == 0
    }

    /// Waits (bounded) until a stdout (or stderr) line starts with `prefix`; returns that line.
    public func waitForLine(startingWith prefix: String, onStderr: Bool = false, timeout: Double = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = (onStderr ? stderr : stdout).split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line)
            }
            if !isRunning {
                throw NetworkNamespace.Failure("pid \(pid) exited (\(exitStatus ?? -1)) before \(prefix.debugDescription): \(stdout) \(stderr)")
            }
            usleep(10_000)
        }
        throw NetworkNamespace.Failure("timed out after \(timeout)s waiting for \(prefix.debugDescription); stdout: \(stdout) stderr: \(stderr)")
    }

    /// Sends `signal` to the child.
    public func signal(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    /// Closes its stdin, sends SIGTERM, waits (bounded, 10 s) for it to exit, then SIGKILL.
    /// Returns the exit status (128 + signal when killed by one).
    @discardableResult
    public func stop() -> Int32 {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
        if isRunning { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while isRunning && Date() < deadline { usleep(5_000) }
        if isRunning {
            kill(pid, SIGKILL)
            exitStatus = SpawnedChild.wait(pid)
        }
        return exitStatus ?? -1
    }

    deinit { if exitStatus == nil { stop() } }
}

extension NetworkNamespace {
    /// Starts a long-running child inside the namespace.
    public func launch(_ arguments: [String]) throws -> RunningProcess {
        try run { try RunningProcess(arguments) }
    }
}

/// Where the package's built executables are, for end-to-end tests.
public enum BuiltProducts {
    /// The build folder holding the test bundle, and so the package's executables.
    public static var directory: URL {
        // The test runner is `<bin>/<package>PackageTests.xctest` (or a tool inside `<bin>`).
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("socketlab").path) { return url }
        }
        // Fall back to the conventional debug folder of this checkout.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug").standardized
    }

    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}
