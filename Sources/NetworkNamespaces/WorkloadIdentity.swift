import SockDiag
import SystemCalls

/// The pod and container a process belongs to, from its cgroup path: what the
/// `pod_uid` and `container_id` labels of `portpressure_netns_info` carry, so Prometheus can
/// join with kube-state-metrics (`kube_pod_info{uid}`) and container metrics.
public struct WorkloadIdentity: Sendable, Equatable {
    /// The Kubernetes pod UID with dashes, as `kube_pod_info{uid}` shows it.
    public var podUID: String?
    /// The container ID (hex, as the runtime shows it), or the machine name of systemd-nspawn.
    public var containerID: String?
    /// Who made the container: `docker`, `containerd`, `cri-o`, `podman`, `systemd-nspawn`;
    /// nil when the path does not say (the kubelet's cgroupfs driver names none).
    public var runtime: String?

    public init(podUID: String? = nil, containerID: String? = nil, runtime: String? = nil) {
        self.podUID = podUID
        self.containerID = containerID
        self.runtime = runtime
    }

    public var isEmpty: Bool { podUID == nil && containerID == nil }

    /// The identity of `/proc/PID/cgroup` text (cgroup v2 `0::PATH`, v1 `N:controllers:PATH`,
    /// or both on hybrid hosts): the line that says the most, the unified one on a tie.
    public static func parse(cgroupFile text: String) -> WorkloadIdentity {
        var best = WorkloadIdentity()
        var bestScore = -1
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let identity = parse(path: String(fields[2]))
            let score = (identity.podUID == nil ? 0 : 2) + (identity.containerID == nil ? 0 : 1)
            let unified = fields[0] == "0" && fields[1].isEmpty
            if score > bestScore || (score == bestScore && unified && score > 0) {
                best = identity
                bestScore = score
            }
        }
        return best
    }

    /// The identity one cgroup path shows. The innermost container wins (a kind node is itself
    /// a Docker container holding pods' cgroups).
    ///
    /// Shapes recognized, per path segment:
    /// - kubelet, systemd driver: `kubepods-besteffort-pod<uid with _>.slice`,
    ///   `kubepods-pod<uid>.slice` (guaranteed); cgroupfs driver: `pod<uid>` below `kubepods`
    /// - `docker-<id>.scope`, and `docker/<id>` (cgroupfs)
    /// - `cri-containerd-<id>.scope`; `crio-<id>.scope`, `crio-conmon-<id>.scope`
    /// - `libpod-<id>.scope`, `libpod-conmon-<id>.scope`, and `libpod_parent/libpod-<id>`
    /// - a bare 64-hex segment below a pod (the cgroupfs driver's container)
    /// - systemd-nspawn: `machine-<name>.scope`, `systemd-nspawn@<name>.service`
    public static func parse(path: String) -> WorkloadIdentity {
        var identity = WorkloadIdentity()
        let segments = path.split(separator: "/").map(String.init)
        var belowKubepods = false
        var previous = ""
        for segment in segments {
            if segment == "kubepods" || segment.hasPrefix("kubepods.") || segment.hasPrefix("kubepods-") { belowKubepods = true }
            if belowKubepods, let uid = podUID(segment) {
                identity.podUID = uid
                identity.containerID = nil
                identity.runtime = nil
            } else if let (id, runtime) = container(segment, parent: previous, belowPod: identity.podUID != nil) {
                identity.containerID = id
                identity.runtime = runtime
            }
            previous = segment
        }
        return identity
    }

    /// `pod<uid>` (cgroupfs) or `kubepods[-qos]-pod<uid>.slice` (systemd, `_` for `-`).
    private static func podUID(_ segment: String) -> String? {
        var text = Substring(segment)
        if text.hasSuffix(".slice") { text = text.dropLast(6) }
        if text.hasPrefix("kubepods-"), let last = text.split(separator: "-").last { text = last }
        guard text.hasPrefix("pod") else { return nil }
        let uid = text.dropFirst(3).replacingUnderscores()
        return isUUID(uid) ? uid.lowercased() : nil
    }

    private static let prefixedRuntimes: [(prefix: String, runtime: String)] = [
        ("cri-containerd-", "containerd"), ("crio-conmon-", "cri-o"), ("crio-", "cri-o"),
        ("libpod-conmon-", "podman"), ("libpod-", "podman"), ("docker-", "docker"),
    ]

    private static func container(_ segment: String, parent: String, belowPod: Bool) -> (String, String?)? {
        var text = Substring(segment)
        if text.hasSuffix(".scope") { text = text.dropLast(6) }
        for (prefix, runtime) in prefixedRuntimes where text.hasPrefix(prefix) {
            let id = text.dropFirst(prefix.count)
            return isContainerID(id) ? (String(id), runtime) : nil
        }
        if parent == "docker", isContainerID(text) { return (String(text), "docker") }
        if belowPod, text.count == 64, isContainerID(text) { return (String(text), nil) }
        if segment.hasPrefix("machine-"), segment.hasSuffix(".scope") {
            let name = unescapeSystemd(segment.dropFirst(8).dropLast(6))
            return name.isEmpty ? nil : (name, "systemd-nspawn")
        }
        if segment.hasPrefix("systemd-nspawn@"), segment.hasSuffix(".service") {
            let name = unescapeSystemd(segment.dropFirst(15).dropLast(8))
            return name.isEmpty ? nil : (name, "systemd-nspawn")
        }
        return nil
    }

    /// 8-4-4-4-12 hex digits.
    private static func isUUID(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// 12 to 64 lowercase hex digits: the runtimes' container IDs, short or full.
    private static func isContainerID(_ text: Substring) -> Bool {
        (12...64).contains(text.count) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// systemd unit-name escaping: `\x2d` is `-`, and so on.
    private static func unescapeSystemd(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var rest = Substring(text).utf8[...]
        while let byte = rest.first {
            if byte == UInt8(ascii: "\\"), rest.count >= 4, rest.dropFirst().first == UInt8(ascii: "x"),
               let value = UInt8(String(decoding: rest.dropFirst(2).prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                rest = rest.dropFirst(4)
            } else {
                bytes.append(byte)
                rest = rest.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The identity of process `pid`, from `/proc/PID/cgroup`; empty when unreadable.
    public static func read(pid: Int32, procRoot: String = "/proc") -> WorkloadIdentity {
        guard let text = try? WholeFile.text("\(procRoot)/\(pid)/cgroup") else { return WorkloadIdentity() }
        return parse(cgroupFile: text)
    }
}

extension Substring {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
