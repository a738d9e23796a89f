#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import NetworkNamespaces
import SockDiag
import SocketModel
import TestSupport

/// The per-scrape step before any dump, on real namespaces: hot ones get exact figures, cold
/// ones a bound, and each carries the identity of its process's cgroup.
@Suite struct NamespaceSurveyTests {
    static let podUID = "0b7c9a6e-3f21-4d58-9e0a-c4b2d1f6e839"
    static let containerID = "c0ffee00" + String(repeating: "ab", count: 28)
    static let dockerID = "d0c4e700" + String(repeating: "cd", count: 28)

    @Test func hotNamespacesAreDumpedColdOnesBoundedEachWithItsIdentity() throws {
        // TCP-hot: 41 TCP sockets in a 100-port range.
        let tcpHot = try NetworkNamespace()
        try tcpHot.setPortRange(low: 20000, high: 20099)
        let tcpLab = try tcpHot.launch([BuiltProducts.path("socketlab"), "--make", "listen:1:127.0.0.1:8080", "--make", "tcp:20:127.0.0.1:8080"])
        defer { tcpLab.stop() }
        // UDP-hot: 150 connected UDP sockets in a 1,000-port range.
        let udpHot = try NetworkNamespace()
        try udpHot.setPortRange(low: 30000, high: 30999)
        let udpLab = try udpHot.launch([BuiltProducts.path("socketlab"), "--make", "udp:150:127.0.0.1:53"])
        defer { udpLab.stop() }
        // Cold: 11 TCP sockets in the default range; its process sits in container cgroups.
        let cold = try NetworkNamespace()
        let coldLab = try cold.launch([BuiltProducts.path("socketlab"), "--make", "listen:1:127.0.0.1:8080", "--make", "tcp:5:127.0.0.1:8080"])
        defer { coldLab.stop() }
        // Named, no process: nothing to count, no identity.
        let named = try NamedNetworkNamespace()
        defer { named.delete() }
        for lab in [tcpLab, udpLab, coldLab] { _ = try lab.waitForLine(startingWith: "READY") }

        let cgroups = try TestCgroups()
        // A cgroup can be removed once its process has exited: stop it first.
        defer { coldLab.stop(); cgroups.remove() }
        let expected = try cgroups.place(coldLab.pid, podUID: Self.podUID, containerID: Self.containerID, dockerID: Self.dockerID)

        let handles = NamespaceHandles()
        let readings = handles.survey(NamespaceScanner().scan())
        func reading(_ inode: UInt64) throws -> NamespaceReading {
            try #require(readings.first { $0.namespace.id.inode == inode })
        }

        let tcp = try reading(try tcpHot.inode).figures.get()
        #expect(tcp.range.limit == 100 && tcp.counts.tcp == 41)
        #expect(tcp.decision == CollectionDecision(tcp: .exact, udp: .bound(0)))
        let udp = try reading(try udpHot.inode).figures.get()
        #expect(udp.counts.udp == 150)
        #expect(udp.decision == CollectionDecision(tcp: .bound(0), udp: .exact))
        let coldReading = try reading(try cold.inode)
        let coldFigures = try coldReading.figures.get()
        let defaultLimit = try cold.run { try EphemeralRangeReader.current().limit }
        #expect(coldFigures.decision == CollectionDecision(tcp: .bound(11 / Double(defaultLimit)), udp: .bound(0)))
        #expect(coldReading.identity == expected)
        #expect(coldReading.handle != nil)
        let namedReading = try reading(try named.inode)
        #expect(namedReading.namespace.name == named.name && namedReading.identity.isEmpty)
        #expect(try namedReading.figures.get().decision == CollectionDecision(tcp: .bound(0), udp: .bound(0)))

        // The exact figures the decision asks for come through the same handle: a dump there
        // sees the hot namespace's sockets only.
        #expect(try reading(try tcpHot.inode).handle?.sockDiag.count(DumpQuery(proto: .tcp, family: .ipv4)) == 41)
    }
}

/// Test cgroups shaped like a container runtime's, under a private `pp-test-<random>` folder of
/// the cgroup2 hierarchy, and of the v1 `pids` hierarchy where the host has one (hybrid hosts).
private final class TestCgroups {
    let unified: String
    let legacy: String?
    private var made: [String] = []

    init() throws {
        let prefix = "/pp-test-\(UInt32.random(in: 0...UInt32.max))-\(getpid())"
        unified = try #require(CgroupPathResolver.unifiedMountPoint(), "no cgroup2 mounted") + prefix
        let pids = "/sys/fs/cgroup/pids"
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        legacy = mounts.split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first.map(String.init) == pids && $0.contains(" cgroup ") }
            ? pids + prefix : nil
    }

    /// Moves `pid` into a containerd-in-Docker-style v2 cgroup (a bare Docker scope) and, on
    /// hybrid hosts, into a kubelet cgroupfs-driver v1 cgroup (pod and container): the identity
    /// the parser must find in the kernel's own /proc/PID/cgroup.
    func place(_ pid: pid_t, podUID: String, containerID: String, dockerID: String) throws -> WorkloadIdentity {
        try move(pid, root: unified, below: "/system.slice/docker-\(dockerID).scope")
        guard let legacy else { return WorkloadIdentity(containerID: dockerID, runtime: "docker") }
        try move(pid, root: legacy, below: "/kubepods/besteffort/pod\(podUID)/\(containerID)")
        return WorkloadIdentity(podUID: podUID, containerID: containerID, runtime: nil)
    }

    private func move(_ pid: pid_t, root: String, below path: String) throws {
        try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
        made.append(root)
        var folder = root
        for component in path.split(separator: "/") {
            folder += "/" + component
            made.append(folder)
        }
        try "\(pid)\n".write(toFile: root + path + "/cgroup.procs", atomically: false, encoding: .utf8)
    }

    /// Removes the folders, deepest first (their processes must have exited).
    func remove() {
        for folder in made.sorted(by: { $0.count > $1.count }) { rmdir(folder) }
    }
}
