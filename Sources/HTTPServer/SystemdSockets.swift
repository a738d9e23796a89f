#if canImport(Glibc)
import Glibc
#endif

/// The listening sockets systemd passes to a socket-activated service (sd_listen_fds(3)):
/// `LISTEN_PID` names the process they are for, `LISTEN_FDS` how many there are, starting at
/// descriptor 3. (The protocol is two environment variables; go-systemd's `activation`, which
/// exporter-toolkit's `--web.systemd-socket` uses, reads them the same way, without libsystemd.)
public enum SystemdSockets {
    /// The first passed descriptor (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The passed descriptors, from the two variables' values and this process's id.
    public static func descriptors(listenPID: String?, listenFDs: String?, pid: pid_t) throws(Failure) -> [Int32] {
        guard let listenPID, let listenFDs else {
            throw Failure("no sockets passed by systemd (LISTEN_PID and LISTEN_FDS are not set): run under a socket unit, or without --web.systemd-socket")
        }
        guard let owner = pid_t(listenPID), owner > 0 else { throw Failure("LISTEN_PID is not a process id: \(listenPID.debugDescription)") }
        guard owner == pid else { throw Failure("the sockets passed by systemd are for process \(owner), not this one (\(pid))") }
        // Bounded well below any descriptor limit; systemd passes one per Listen*= line.
        guard let count = Int32(listenFDs), (1...1024).contains(count) else {
            throw Failure("LISTEN_FDS must be a count of sockets from 1 to 1024, got \(listenFDs.debugDescription)")
        }
        return Array(firstDescriptor..<(firstDescriptor + count))
    }

    /// Reads the passed descriptors from the environment, then removes the variables (as
    /// sd_listen_fds(1) does) so that no child process takes the sockets for its own.
    public static func fromEnvironment() throws(Failure) -> [Int32] {
        let pidText = getenv("LISTEN_PID").map { String(cString: $0) }
        let countText = getenv("LISTEN_FDS").map { String(cString: $0) }
        defer { for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) } }
        return try descriptors(listenPID: pidText, listenFDs: countText, pid: getpid())
    }
}
