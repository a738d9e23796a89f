#if canImport(Glibc)
import Glibc
#endif
import SystemCalls

/// A child started with posix_spawnp: stdin and stdout each either /dev/null or a pipe to us,
/// stderr inherited (so a failing tool explains itself on the terminal).
struct ChildProcess {
    let pid: pid_t
    /// Our end of the child's stdin, or -1.
    private(set) var stdinFD: Int32
    /// Our end of the child's stdout, or -1.
    let stdoutFD: Int32

    enum Stream { case null, pipe }

    static func spawn(_ arguments: [String], stdin: Stream = .null, stdout: Stream = .null) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no blocked signals, whatever this process blocks.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        var ours: [Int32] = []
        var theirs: [Int32] = []
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        var stdinOurs: Int32 = -1, stdoutOurs: Int32 = -1
        switch stdin {
        case .null: posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .pipe:
            let p = try pipePair()
            posix_spawn_file_actions_adddup2(&actions, p.read, 0)
            stdinOurs = p.write
            ours.append(p.write); theirs.append(p.read)
        }
        switch stdout {
        case .null: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case .pipe:
            let p = try pipePair()
            posix_spawn_file_actions_adddup2(&actions, p.write, 1)
            stdoutOurs = p.read
            ours.append(p.read); theirs.append(p.write)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ)
        for fd in theirs { close(fd) }
        guard rc == 0 else {
            for fd in ours { close(fd) }
            throw BenchError("posix_spawnp \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid, stdinFD: stdinOurs, stdoutFD: stdoutOurs)
    }

    /// Reads stdout until a line starting with `prefix` (bounded by `limit` bytes); the line.
    func readLine(startingWith prefix: String, limit: Int = 1 << 20) throws -> String {
        var text = ""
        var byte: UInt8 = 0
        while text.utf8.count < limit {
            let n = try? systemCall { read(stdoutFD, &byte, 1) }
            guard n == 1 else { throw BenchError("pid \(pid) ended its output before \(prefix.debugDescription): \(text)") }
            if byte == UInt8(ascii: "\n") {
                let line = text.split(separator: "\n").last.map(String.init) ?? ""
                if line.hasPrefix(prefix) { return line }
            }
            text.append(Character(UnicodeScalar(byte)))
        }
        throw BenchError("no \(prefix.debugDescription) line from pid \(pid)")
    }

    mutating func closeStdin() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }

    /// Waits for the child: its exit status (128 + signal when killed) and the CPU time
    /// (user + system) it used, from wait4's rusage.
    func wait() -> (status: Int32, cpuSeconds: Double) {
        var status: Int32 = 0
        var usage = rusage()
        _ = try? systemCall { wait4(pid, &status, 0, &usage) }
        if stdoutFD >= 0 { close(stdoutFD) }
        let cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime)
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, cpu)
    }
}

/// One run of a command to completion with stdout to /dev/null: wall time and CPU time.
struct Run {
    var wallSeconds: Double
    var cpuSeconds: Double
}

func timedRun(_ arguments: [String]) throws -> Run {
    let start = monotonicSeconds()
    let child = try ChildProcess.spawn(arguments)
    let (status, cpu) = child.wait()
    let wall = monotonicSeconds() - start
    guard status == 0 else { throw BenchError("\(arguments.joined(separator: " ")) exited \(status)") }
    return Run(wallSeconds: wall, cpuSeconds: cpu)
}

/// Runs a command and waits; fails unless it exits 0.
func runChecked(_ arguments: [String]) throws {
    let (status, _) = try ChildProcess.spawn(arguments).wait()
    guard status == 0 else { throw BenchError("\(arguments.joined(separator: " ")) exited \(status)") }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func seconds(_ tv: timeval) -> Double { Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6 }

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of the calling thread (the floor's netlink dumps run in our recvmsg calls).
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
