#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CTestSupport

/// `posix_spawnp` with stdin/stdout/stderr on pipes: the one way tests start a program.
///
/// Not Foundation's `Process`: its first use on a thread opens a loopback UDP socket pair
/// (CoreFoundation's wakeup sockets), which inside a test namespace with a narrowed range
/// silently takes ephemeral ports and skews every count. And a child starts as systemd or a
/// shell would start it: empty signal mask, default dispositions (test threads block SIGTERM,
/// SIGINT and SIGHUP, and a child inherits the mask, so it could never be stopped).
struct SpawnedChild {
    let pid: pid_t
    let stdin: Int32
    let stdout: Int32
    let stderr: Int32

    static func start(_ arguments: [String]) throws -> SpawnedChild {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pp_pipe_cloexec(&inPipe) == 0, pp_pipe_cloexec(&outPipe) == 0, pp_pipe_cloexec(&errPipe) == 0 else {
            throw NetworkNamespace.Failure("pipe2: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw NetworkNamespace.Failure("posix_spawnp \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        return SpawnedChild(pid: pid, stdin: inPipe[1], stdout: outPipe[0], stderr: errPipe[0])
    }

    /// Reads `fd` to end of file on a new thread into `sink`, then closes `fd` and the sink.
    static func drain(_ fd: Int32, into sink: OutputBuffer, onEnd: @escaping @Sendable () -> Void = {}) {
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                sink.append(buffer[0..<n])
            }
            close(fd)
            sink.close()
            onEnd()
        }.start()
    }

    /// Writes all of `bytes` to `fd` (stops early if the reader went away).
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
    }

    /// Waits until `pid` exits, at most `timeout` (nil: for ever), and reaps it. nil while it runs.
    ///
    /// A pidfd becomes readable when the process exits: an event to wait on, not a polling loop.
    static func wait(_ pid: pid_t, timeout: Duration?) -> ProcessEnding? {
        if let timeout {
            let pidfd = pp_pidfd_open(pid)
            guard pidfd >= 0 else { return reap(pid, block: false) }  // already reaped or gone
            defer { close(pidfd) }
            let deadline = ContinuousClock.now + timeout
            while true {
                let left = max(.zero, deadline - ContinuousClock.now)
                var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&entry, 1, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
                if ready < 0 && errno == EINTR { continue }
                if ready > 0 { break }
                return reap(pid, block: false)
            }
        }
        return reap(pid, block: true)
    }

    private static func reap(_ pid: pid_t, block: Bool) -> ProcessEnding? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            if r < 0 && errno == EINTR { continue }
            return r == pid ? ProcessEnding(waitStatus: status) : nil
        }
    }
}

/// How a child process ended.
public enum ProcessEnding: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    /// Ignored SIGTERM for the whole stop timeout; killed with SIGKILL.
    case killed

    /// Decodes a wait status (the W* macros do not import).
    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// The status as a shell reports it: the exit code, or 128 + the signal.
    public var code: Int32 {
        switch self {
        case .exited(let status): status
        case .signaled(let signal): 128 + signal
        case .killed: 128 + SIGKILL
        }
    }

    public var description: String {
        switch self {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "terminated by signal \(signal)"
        case .killed: "did not stop on SIGTERM, killed"
        }
    }
}

/// Bytes collected from a pipe by a reader thread. Waiters are woken by every append and by
/// the end of the pipe, so waiting for output is an event, not a poll.
final class OutputBuffer: @unchecked Sendable {
    private let condition = NSCondition()
    private var bytes: [UInt8] = []
    private var closed = false

    func append(_ data: ArraySlice<UInt8>) {
        condition.lock()
        bytes += data
        condition.broadcast()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    var data: [UInt8] { condition.lock(); defer { condition.unlock() }; return bytes }
    var text: String { String(decoding: data, as: UTF8.self) }

    /// Waits until `predicate` holds for the text so far; false when the pipe ended or the
    /// deadline passed without it.
    func wait(until deadline: Date, for predicate: (String) -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if predicate(String(decoding: bytes, as: UTF8.self)) { return true }
            if closed || !condition.wait(until: deadline) { return predicate(String(decoding: bytes, as: UTF8.self)) }
        }
    }
}
