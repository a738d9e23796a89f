import SockDiag
import SystemCalls

/// The Linux capabilities `serve --collector.netns` needs, checked at start from the process's
/// effective set (`CapEff` of `/proc/self/status`).
public enum NamespacePrivileges {
    public enum Capability: Int, Sendable, CaseIterable, CustomStringConvertible {
        /// Reading other processes' `/proc/PID/ns/net` and `/proc/PID/cgroup`.
        case sysPtrace = 19
        /// `setns` into other network namespaces.
        case sysAdmin = 21

        public var description: String {
            switch self {
            case .sysPtrace: "CAP_SYS_PTRACE"
            case .sysAdmin: "CAP_SYS_ADMIN"
            }
        }
    }

    public static let required: [Capability] = [.sysAdmin, .sysPtrace]

    /// The effective capability bits of `/proc/PID/status` text (`CapEff:\t000001ffffffffff`),
    /// nil when the line is missing or malformed.
    public static func effective(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            guard let hex = line.dropFirst(7).split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { return nil }
            return UInt64(hex, radix: 16)
        }
        return nil
    }

    /// The required capabilities missing from `effective` bits, in `required` order.
    public static func missing(effective: UInt64) -> [Capability] {
        required.filter { effective & (1 << UInt64($0.rawValue)) == 0 }
    }

    /// Throws the error `serve --collector.netns` stops with when this process lacks a
    /// required capability (or its status cannot be read).
    public static func check(statusPath: String = "/proc/self/status") throws(PrivilegeError) {
        let status: String
        do { status = try WholeFile.text(statusPath) } catch {
            throw PrivilegeError(missing: required, detail: "cannot read \(statusPath): \(error)")
        }
        guard let bits = effective(status: status) else {
            throw PrivilegeError(missing: required, detail: "no CapEff line in \(statusPath)")
        }
        let lacking = missing(effective: bits)
        if !lacking.isEmpty { throw PrivilegeError(missing: lacking, detail: nil) }
    }
}

/// Why `--collector.netns` cannot run: which capabilities are missing, what each is for, and
/// how to grant them.
public struct PrivilegeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let missing: [NamespacePrivileges.Capability]
    public let detail: String?

    public init(missing: [NamespacePrivileges.Capability], detail: String?) {
        self.missing = missing
        self.detail = detail
    }

    public var description: String {
        let names = missing.map(\.description).joined(separator: " and ")
        var text = "--collector.netns needs \(names), and this process lacks "
            + (missing.count == 1 ? "it" : "them")
            + (detail.map { " (\($0))" } ?? "")
            + ". CAP_SYS_ADMIN enters other network namespaces (setns); CAP_SYS_PTRACE reads other"
            + " processes' /proc/PID/ns/net and cgroup. Run as root, or grant both: systemd"
            + " AmbientCapabilities=CAP_SYS_ADMIN CAP_SYS_PTRACE; Kubernetes hostPID: true and"
            + " securityContext.capabilities.add: [SYS_ADMIN, SYS_PTRACE]."
        text += " Without --collector.netns, portpressure watches its own namespace and needs neither."
        return text
    }
}
