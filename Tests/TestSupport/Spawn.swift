#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CTestSupport
import Synchronization

/// `posix_spawnp` with stdin/stdout/stderr on pipes.
///
/// Not Foundation's `Process`: its first use on a thread opens a loopback UDP socket pair
/// (CoreFoundation's wakeup sockets), which inside a test namespace with a narrowed range
/// silently takes ephemeral ports and skews every count.
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
        // The test runner's threads block SIGTERM/SIGINT/SIGHUP; a child inherits that mask,
        // so reset it (and those signals' dispositions), or the child could never be stopped.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
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

    /// Reads `fd` to end of file on a new thread, appending to `sink`.
    static func drain(_ fd: Int32, into sink: @escaping @Sendable (Data) -> Void, onEnd: @escaping @Sendable () -> Void = {}) -> Thread {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                sink(Data(buffer[0..<n]))
            }
            close(fd)
            onEnd()
        }
        thread.start()
        return thread
    }

    /// Waits for the child; returns its exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

/// Text collected from a pipe by a reader thread.
final class TextBuffer: Sendable {
    private let storage = Mutex("")
    func append(_ data: Data) {
        if !data.isEmpty { storage.withLock { $0 += String(decoding: data, as: UTF8.self) } }
    }
    var text: String { storage.withLock { $0 } }
}
