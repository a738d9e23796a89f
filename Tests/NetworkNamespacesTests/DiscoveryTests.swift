#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import NetworkNamespaces
import TestSupport

/// Discovery against real namespaces: named ones (`ip netns add`), anonymous ones held only by
/// a process, and the host's.
@Suite struct DiscoveryTests {
    @Test func findsEveryNamespaceWithItsInodeAndName() throws {
        var named: [NamedNetworkNamespace] = []
        var anonymous: [(namespace: NetworkNamespace, holder: RunningProcess)] = []
        var processesInNamed: [RunningProcess] = []
        defer {
            for process in processesInNamed { process.stop() }
            for (_, holder) in anonymous { holder.stop() }
            for namespace in named { namespace.delete() }
        }
        for _ in 0..<6 { named.append(try NamedNetworkNamespace()) }
        // Two named namespaces also hold a process: found twice, reported once.
        for namespace in named.prefix(2) {
            let process = try namespace.launch(["sh", "-c", "echo inside; exec sleep 600"])
            processesInNamed.append(process)
            // `ip netns exec` enters the namespace before it runs the command: once the line is
            // out, the process is in the namespace.
            _ = try process.waitForLine(startingWith: "inside")
        }
        for _ in 0..<6 {
            let namespace = try NetworkNamespace()
            anonymous.append((namespace, try namespace.launch(["sleep", "600"])))
        }
        // (A child spawned from a NetworkNamespace thread starts inside its namespace.)

        let inventory = NamespaceScanner().scan()
        #expect(inventory.namespaces.count >= 13)
        #expect(Set(inventory.namespaces.map(\.id)).count == inventory.namespaces.count)

        for (index, namespace) in named.enumerated() {
            let inode = try namespace.inode
            let found = inventory.namespaces.filter { $0.id.inode == inode }
            #expect(found.count == 1, "\(namespace.name) (\(inode)) found \(found.count) times")
            guard let entry = found.first else { continue }
            #expect(entry.names == [namespace.name] && entry.name == namespace.name)
            #expect(entry.paths.first == namespace.path)
            #expect(!entry.isHost)
            if index < 2 {
                #expect(entry.processID == processesInNamed[index].pid && entry.processCount == 1)
            } else {
                #expect(entry.processID == nil && entry.processCount == 0)
            }
        }
        for (namespace, holder) in anonymous {
            let inode = try namespace.inode
            let found = inventory.namespaces.filter { $0.id.inode == inode }
            #expect(found.count == 1, "anonymous namespace \(inode) found \(found.count) times")
            guard let entry = found.first else { continue }
            #expect(entry.names.isEmpty && entry.name == "" && !entry.isHost)
            #expect(entry.processID == holder.pid && entry.processCount == 1)
            #expect(entry.paths == ["/proc/\(holder.pid)/ns/net"])
            #expect(entry.id.description == String(inode))
        }

        // The host: kthreadd's namespace when PID 2 is a kernel thread (this machine refuses
        // /proc/1/ns/net even to root, so PID 1 cannot be what decides), else unknown.
        let stat2 = (try? String(contentsOfFile: "/proc/2/stat", encoding: .utf8)) ?? ""
        if HostClues.isKernelThread(stat: stat2) == true {
            let kthreadd = try #require(NamespaceScanner.identify("/proc/2/ns/net"))
            #expect(inventory.host == kthreadd)
            #expect(inventory[kthreadd]?.isHost == true && inventory[kthreadd]?.name == "host")
            #expect(inventory.namespaces.filter(\.isHost).count == 1)
        } else {
            #expect(inventory.host == nil)
        }
        #expect(inventory.own == NamespaceScanner.identify("/proc/thread-self/ns/net"))
        #expect(inventory.own.flatMap { inventory[$0] } != nil)

        // Gone once deleted or left: nothing of them in the next pass.
        let ours = try Set(named.map { try $0.inode } + anonymous.map { try $0.namespace.inode })
        for process in processesInNamed { process.stop() }
        for (_, holder) in anonymous { holder.stop() }
        for namespace in named { namespace.delete() }
        let after = NamespaceScanner().scan()
        #expect(after.namespaces.filter { ours.contains($0.id.inode) }.isEmpty)
    }

    @Test func dockerSandboxKeysAreFound() throws {
        // Docker keeps each container's namespace as a bind mount in /run/docker/netns/<key>;
        // the same made here in a private folder, of a named namespace.
        let named = try NamedNetworkNamespace()
        defer { named.delete() }
        try withTemporaryDirectory("pp-docker-netns") { directory in
            let folder = directory.path + "/docker", empty = directory.path + "/named"
            for made in [folder, empty] { try FileManager.default.createDirectory(atPath: made, withIntermediateDirectories: false) }
            let key = folder + "/1f2e3d4c5b6a"
            try "".write(toFile: key, atomically: false, encoding: .utf8)
            let mount = try ProcessResult.run(["mount", "--bind", named.path, key])
            #expect(mount.status == 0, "\(mount.stderr)")
            defer { _ = try? ProcessResult.run(["umount", key]) }

            let inventory = NamespaceScanner(dockerDirectory: folder).scan()
            let entry = try #require(inventory.namespaces.first { $0.id.inode == (try? named.inode) })
            #expect(entry.dockerNames == ["1f2e3d4c5b6a"] && entry.names == [named.name])
            #expect(entry.paths == [named.path, key].sorted())

            // The docker key is a namespace, not a leftover. Counted with an empty folder for the
            // named ones: /run/netns is shared with whatever else runs, and an `ip netns add`
            // caught between creating its file and mounting it is (rightly) a leftover there.
            let dockerOnly = NamespaceScanner(namedDirectory: empty, dockerDirectory: folder).scan()
            #expect(dockerOnly.namespaces.first { $0.id.inode == (try? named.inode) }?.dockerNames == ["1f2e3d4c5b6a"])
            #expect(dockerOnly.stale == 0)
        }
    }

    @Test func unreadableEntriesAndLeftoversAreSkippedAndCounted() throws {
        // A /proc-like tree: process 42 has no ns/net (it exited meanwhile: skipped, not
        // counted), process 43's link is not a namespace (unreadable, counted), and the
        // bind-mount folder holds a plain file (a leftover of a failed `ip netns add`: stale).
        let inventory = try withTemporaryDirectory("pp-scan") { directory in
            let root = directory.path
            let manager = FileManager.default
            try manager.createDirectory(atPath: root + "/proc/42/ns", withIntermediateDirectories: true)
            try manager.createDirectory(atPath: root + "/proc/43/ns", withIntermediateDirectories: true)
            try manager.createDirectory(atPath: root + "/netns", withIntermediateDirectories: true)
            try manager.createSymbolicLink(atPath: root + "/proc/43/ns/net", withDestinationPath: "mnt:[4026531841]")
            try "".write(toFile: root + "/netns/leftover", atomically: false, encoding: .utf8)
            return NamespaceScanner(procRoot: root + "/proc", namedDirectory: root + "/netns", dockerDirectory: root + "/absent").scan()
        }
        #expect(inventory.unreadable == 1)
        #expect(inventory.stale == 1)
        #expect(inventory.namespaces.isEmpty)
        #expect(inventory.own == nil && inventory.host == nil)
    }

    @Test func namespaceLinkText() {
        func inode(_ text: String) -> UInt64? { Array(text.utf8).withUnsafeBytes { NamespaceScanner.inode(link: $0) } }
        #expect(inode("net:[4026531833]") == 4_026_531_833)
        #expect(inode("net:[0]") == 0)
        #expect(inode("net:[]") == nil)
        #expect(inode("mnt:[4026531841]") == nil)
        #expect(inode("net:[40265x1833]") == nil)
        #expect(inode("net:[4026531833") == nil)
        #expect(inode("net:[99999999999999999999999]") == nil)
        #expect(inode("") == nil)
    }
}
