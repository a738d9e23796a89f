#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A child process left running (a socket population, a server), with its output collected.
public final class RunningProcess: @unchecked Sendable {
    public let pid: pid_t
    private var stdinFD: Int32
    private let output = OutputBuffer()
    private let errors = OutputBuffer()
    private var end: ProcessEnding?

    /// Starts `arguments` (a path, or a name looked up in PATH). Use `NetworkNamespace.launch`
    /// to start it inside a namespace.
    public init(_ arguments: [String]) throws {
        let child = try SpawnedChild.start(arguments)
        pid = child.pid
        stdinFD = child.stdin
        SpawnedChild.drain(child.stdout, into: output)
        SpawnedChild.drain(child.stderr, into: errors)
    }

    public var stdout: String { output.text }
    public var stderr: String { errors.text }

    /// How it ended, once it has (reaps it); nil while it runs.
    public var ending: ProcessEnding? {
        if end == nil { end = SpawnedChild.wait(pid, timeout: .zero) }
        return end
    }

    public var isRunning: Bool { ending == nil }

    /// Waits (bounded) for the child to exit; how it ended, or nil if it still runs.
    public func waitForExit(timeout: Duration) -> ProcessEnding? {
        if end == nil { end = SpawnedChild.wait(pid, timeout: timeout) }
        return end
    }

    public enum Stream { case stdout, stderr }

    /// Waits (bounded) until the text written so far to `stream` satisfies `predicate`;
    /// false when the stream ended (the child exited) or the time ran out without it.
    public func waitForOutput(_ stream: Stream = .stdout, timeout: Duration = .seconds(60), until predicate: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        return (stream == .stdout ? output : errors).wait(until: deadline, for: predicate)
    }

    /// Waits (bounded) until a stdout (or stderr) line starts with `prefix`; returns that line.
    public func waitForLine(startingWith prefix: String, onStderr: Bool = false, timeout: Double = 60) throws -> String {
        func line(_ text: String) -> Substring? { text.split(separator: "\n").first { $0.hasPrefix(prefix) } }
        let stream: Stream = onStderr ? .stderr : .stdout
        if waitForOutput(stream, timeout: .milliseconds(Int(timeout * 1000)), until: { line($0) != nil }),
           let found = line(onStderr ? stderr : stdout) {
            return String(found)
        }
        if let ending = waitForExit(timeout: .seconds(1)) {
            throw NetworkNamespace.Failure("pid \(pid) \(ending) before \(prefix.debugDescription): \(stdout) \(stderr)")
        }
        throw NetworkNamespace.Failure("timed out after \(timeout)s waiting for \(prefix.debugDescription); stdout: \(stdout) stderr: \(stderr)")
    }

    /// Closes the child's stdin (it reads end of file).
    public func closeInput() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }

    /// Sends `signal` to the child.
    public func signal(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    /// Closes its stdin, sends SIGTERM, waits (bounded) for it to exit, else SIGKILL.
    /// Returns the exit status (128 + signal when killed by one).
    @discardableResult
    public func stop(timeout: Duration = .seconds(10)) -> Int32 {
        closeInput()
        if isRunning { kill(pid, SIGTERM) }
        if waitForExit(timeout: timeout) == nil {
            kill(pid, SIGKILL)
            _ = SpawnedChild.wait(pid, timeout: nil)
            end = .killed
        }
        return end!.code
    }

    deinit { if end == nil { stop() } }
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
