import Testing
import NetworkNamespaces

@Suite struct NamespaceInventoryTests {
    static func id(_ inode: UInt64) -> NamespaceID { NamespaceID(device: 4, inode: inode) }

    @Test func mergesSightingsIntoDistinctNamespaces() {
        let host = Self.id(4026531833), pod = Self.id(4026532400), named = Self.id(4026532500)
        let sightings = [
            NamespaceSighting(source: .process(pid: 2), path: "/proc/2/ns/net", id: host),
            NamespaceSighting(source: .process(pid: 731), path: "/proc/731/ns/net", id: pod),
            NamespaceSighting(source: .process(pid: 700), path: "/proc/700/ns/net", id: pod),
            NamespaceSighting(source: .docker("a1b2c3d4e5f6"), path: "/run/docker/netns/a1b2c3d4e5f6", id: pod),
            NamespaceSighting(source: .process(pid: 50), path: "/proc/50/ns/net", id: host),
            NamespaceSighting(source: .named("blue"), path: "/run/netns/blue", id: named),
            NamespaceSighting(source: .named("alias"), path: "/run/netns/alias", id: named),
        ]
        let inventory = NamespaceInventory(sightings: sightings, unreadable: 1, stale: 2, host: host, own: host)
        #expect(inventory.namespaces.map(\.id) == [host, pod, named])
        #expect(inventory.unreadable == 1 && inventory.stale == 2)

        let hostNamespace = inventory[host]!
        #expect(hostNamespace.isHost && hostNamespace.name == "host")
        #expect(hostNamespace.processID == 2 && hostNamespace.processCount == 2)
        #expect(hostNamespace.paths == ["/proc/2/ns/net"])

        let podNamespace = inventory[pod]!
        #expect(!podNamespace.isHost && podNamespace.name == "")
        #expect(podNamespace.processID == 700 && podNamespace.processCount == 2)
        #expect(podNamespace.dockerNames == ["a1b2c3d4e5f6"])
        // Bind mounts first: they last as long as the namespace; a PID can exit.
        #expect(podNamespace.paths == ["/run/docker/netns/a1b2c3d4e5f6", "/proc/700/ns/net"])

        let namedNamespace = inventory[named]!
        #expect(namedNamespace.names == ["alias", "blue"] && namedNamespace.name == "alias")
        #expect(namedNamespace.processID == nil && namedNamespace.processCount == 0)
    }

    @Test func anIPNetnsNameWinsOverHost() {
        let host = Self.id(1)
        let inventory = NamespaceInventory(
            sightings: [NamespaceSighting(source: .named("default"), path: "/run/netns/default", id: host)],
            host: host, own: nil)
        #expect(inventory[host]?.name == "default" && inventory[host]?.isHost == true)
    }

    @Test func hostIsTheKernelThreadsNamespaceWhenReadable() {
        let clues = HostClues(kernelThreadVisible: true, kernelThread: Self.id(1), initProcess: Self.id(2))
        #expect(clues.host == Self.id(1))
    }

    @Test func unreadablePID1IsNotNeededAndUnreadablePID2FallsBackToIt() {
        // This machine: /proc/1/ns/net is refused even to root; kthreadd is readable.
        #expect(HostClues(kernelThreadVisible: true, kernelThread: Self.id(1), initProcess: nil).host == Self.id(1))
        #expect(HostClues(kernelThreadVisible: true, kernelThread: nil, initProcess: Self.id(2)).host == Self.id(2))
        #expect(HostClues(kernelThreadVisible: true, kernelThread: nil, initProcess: nil).host == nil)
    }

    @Test func inAPrivatePIDNamespaceTheHostIsUnknown() {
        // No kernel thread in sight: PID 1 is the container's init, not the host's.
        #expect(HostClues(kernelThreadVisible: false, kernelThread: nil, initProcess: Self.id(7)).host == nil)
    }

    @Test func kernelThreadFlagFromRecordedStatLines() {
        // Recorded on Linux 6.18: kthreadd, a kworker, bash.
        #expect(HostClues.isKernelThread(stat: "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 25 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n") == true)
        #expect(HostClues.isKernelThread(stat: "10 (kworker/0:0H-kblockd) I 2 0 0 0 -1 69238880 0 0 0 0 0 22 0 0 0 -20 1 0 25 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n") == true)
        #expect(HostClues.isKernelThread(stat: "5448 (bash) S 5440 5448 5448 0 -1 4194560 10516 809589 0 22 2 5 1559 264 20 0 1 0 34431 5439488 1078 18446744073709551615 93953551986688 93953552776093 140733887291520 0 0 0 65536 4 1132560123 1 0 0 17 0 0 0 0 0 0 93953553009392 93953553057636 93953699708928 140733887294314 140733887294329 140733887294329 140733887295466 0\n") == false)
        // A command name may hold spaces and parentheses: fields count from the last ")".
        #expect(HostClues.isKernelThread(stat: "77 (a) S 1 2 (b)) S 5440 5448 5448 0 -1 4194560 0 0\n") == false)
        #expect(HostClues.isKernelThread(stat: "") == nil)
        #expect(HostClues.isKernelThread(stat: "1 (init) S 0") == nil)
    }
}
