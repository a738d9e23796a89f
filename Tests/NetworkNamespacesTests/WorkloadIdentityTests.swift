import Foundation
import Testing
import NetworkNamespaces

/// Cgroup paths as runtimes really lay them out (v2 unified `0::PATH`, v1 `N:controllers:PATH`).
@Suite struct WorkloadIdentityTests {
    static let uid = "5f3c8e2a-91d4-4b7e-a0c3-6d2f1e9b8a47"
    static let uidSystemd = "5f3c8e2a_91d4_4b7e_a0c3_6d2f1e9b8a47"
    static let id = "3b1f4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819"
    static let other = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"

    struct Case: CustomTestStringConvertible, Sendable {
        let shape: String
        let path: String
        let pod: String?
        let container: String?
        let runtime: String?
        var testDescription: String { shape }
    }

    static let cases: [Case] = [
        // Kubernetes, systemd cgroup driver (the kubelet's default on systemd hosts), cgroup v2.
        Case(shape: "containerd, burstable, systemd driver",
             path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice/cri-containerd-\(id).scope",
             pod: uid, container: id, runtime: "containerd"),
        Case(shape: "containerd, besteffort, systemd driver",
             path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidSystemd).slice/cri-containerd-\(id).scope",
             pod: uid, container: id, runtime: "containerd"),
        Case(shape: "containerd, guaranteed, systemd driver",
             path: "/kubepods.slice/kubepods-pod\(uidSystemd).slice/cri-containerd-\(id).scope",
             pod: uid, container: id, runtime: "containerd"),
        Case(shape: "CRI-O, burstable, systemd driver",
             path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice/crio-\(id).scope",
             pod: uid, container: id, runtime: "cri-o"),
        Case(shape: "CRI-O conmon",
             path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidSystemd).slice/crio-conmon-\(id).scope",
             pod: uid, container: id, runtime: "cri-o"),
        Case(shape: "dockershim/cri-dockerd, systemd driver",
             path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice/docker-\(id).scope",
             pod: uid, container: id, runtime: "docker"),
        // Kubernetes, cgroupfs driver: pod UID with dashes, bare container ID.
        Case(shape: "cgroupfs driver, burstable",
             path: "/kubepods/burstable/pod\(uid)/\(id)", pod: uid, container: id, runtime: nil),
        Case(shape: "cgroupfs driver, besteffort",
             path: "/kubepods/besteffort/pod\(uid)/\(id)", pod: uid, container: id, runtime: nil),
        Case(shape: "cgroupfs driver, guaranteed",
             path: "/kubepods/pod\(uid)/\(id)", pod: uid, container: id, runtime: nil),
        Case(shape: "pod slice itself (the pod's own cgroup)",
             path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice",
             pod: uid, container: nil, runtime: nil),
        // kind/k3d: a node is a Docker container; the innermost container wins.
        Case(shape: "kind node nesting",
             path: "/docker/\(other)/kubepods/besteffort/pod\(uid)/\(id)", pod: uid, container: id, runtime: nil),
        // Docker alone.
        Case(shape: "Docker, systemd driver", path: "/system.slice/docker-\(id).scope", pod: nil, container: id, runtime: "docker"),
        Case(shape: "Docker, cgroupfs driver", path: "/docker/\(id)", pod: nil, container: id, runtime: "docker"),
        // containerd alone (nerdctl).
        Case(shape: "nerdctl", path: "/system.slice/cri-containerd-\(id).scope", pod: nil, container: id, runtime: "containerd"),
        // Podman, rootful and rootless, systemd and cgroupfs managers.
        Case(shape: "Podman rootful", path: "/machine.slice/libpod-\(id).scope", pod: nil, container: id, runtime: "podman"),
        Case(shape: "Podman rootful, container payload", path: "/machine.slice/libpod-\(id).scope/container", pod: nil, container: id, runtime: "podman"),
        Case(shape: "Podman conmon", path: "/machine.slice/libpod-conmon-\(id).scope", pod: nil, container: id, runtime: "podman"),
        Case(shape: "Podman rootless",
             path: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(id).scope",
             pod: nil, container: id, runtime: "podman"),
        Case(shape: "Podman cgroupfs manager", path: "/libpod_parent/libpod-\(id)", pod: nil, container: id, runtime: "podman"),
        // systemd-nspawn / machinectl.
        Case(shape: "systemd-nspawn machine scope", path: "/machine.slice/machine-web\\x2d01.scope", pod: nil, container: "web-01", runtime: "systemd-nspawn"),
        Case(shape: "systemd-nspawn service payload",
             path: "/machine.slice/systemd-nspawn@db.service/payload", pod: nil, container: "db", runtime: "systemd-nspawn"),
        // Not containers.
        Case(shape: "host service", path: "/system.slice/sshd.service", pod: nil, container: nil, runtime: nil),
        Case(shape: "user session", path: "/user.slice/user-0.slice/session-3.scope", pod: nil, container: nil, runtime: nil),
        Case(shape: "root cgroup", path: "/", pod: nil, container: nil, runtime: nil),
        Case(shape: "docker.service itself", path: "/system.slice/docker.service", pod: nil, container: nil, runtime: nil),
        Case(shape: "pod-like name outside kubepods", path: "/system.slice/pod\(uid).slice", pod: nil, container: nil, runtime: nil),
        Case(shape: "short non-hex id", path: "/system.slice/docker-notanid.scope", pod: nil, container: nil, runtime: nil),
    ]

    @Test(arguments: cases) func path(_ shape: Case) {
        let identity = WorkloadIdentity.parse(path: shape.path)
        #expect(identity.podUID == shape.pod)
        #expect(identity.containerID == shape.container)
        #expect(identity.runtime == shape.runtime)
    }

    @Test func cgroupV2File() {
        let text = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.uidSystemd).slice/cri-containerd-\(Self.id).scope\n"
        #expect(WorkloadIdentity.parse(cgroupFile: text) == WorkloadIdentity(podUID: Self.uid, containerID: Self.id, runtime: "containerd"))
    }

    @Test func cgroupV1FileTakesTheLineThatSaysTheMost() {
        // A v1 host: systemd's own hierarchy names only the scope; the controllers have it all.
        let text = """
        12:pids:/kubepods/burstable/pod\(Self.uid)/\(Self.id)
        11:memory:/kubepods/burstable/pod\(Self.uid)/\(Self.id)
        10:cpu,cpuacct:/kubepods/burstable/pod\(Self.uid)/\(Self.id)
        2:net_cls,net_prio:/
        1:name=systemd:/system.slice/containerd.service
        0::/

        """
        #expect(WorkloadIdentity.parse(cgroupFile: text) == WorkloadIdentity(podUID: Self.uid, containerID: Self.id, runtime: nil))
    }

    @Test func hybridHostPrefersTheUnifiedLineOnATie() {
        let text = """
        5:memory:/docker/\(Self.other)
        0::/system.slice/docker-\(Self.id).scope
        """
        #expect(WorkloadIdentity.parse(cgroupFile: text).containerID == Self.id)
    }

    @Test func emptyAndMalformedFilesGiveNoIdentity() {
        #expect(WorkloadIdentity.parse(cgroupFile: "").isEmpty)
        #expect(WorkloadIdentity.parse(cgroupFile: "garbage\n::\n0::").isEmpty)
    }

    @Test func ownProcessReadsWithoutError() {
        // This test runs outside any container on the CI host or in one: either way the
        // reader must agree with the parser on the same bytes.
        let identity = WorkloadIdentity.read(pid: getpid())
        let text = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        #expect(identity == WorkloadIdentity.parse(cgroupFile: text))
        #expect(WorkloadIdentity.read(pid: Int32.max).isEmpty)
    }
}
