#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import NetworkNamespaces
import SockDiag
import SocketModel
import TestSupport

/// Handles made once inside real namespaces by the entering thread, then read from the test's
/// own thread (never inside the namespace): each must show its own namespace.
@Suite struct NamespaceHandleTests {
    @Test func eachHandleShowsItsOwnNamespacesRangeSettingsAndSockets() throws {
        // A: anonymous, held by socketlab's process, a narrow range with reserved ports and a
        // real population of both families. B: named, another range. C: anonymous, defaults.
        let a = try NetworkNamespace()
        try a.setPortRange(low: 20000, high: 20999, reserved: "20100-20199,20500")
        try a.sysctl("net.ipv4.tcp_tw_reuse", "0")  // keep loopback TIME_WAIT while counting
        let lab = try a.launch([BuiltProducts.path("socketlab"),
                                "--make", "listen:1:127.0.0.1:8080", "--make", "tcp:40:127.0.0.1:8080",
                                "--make", "tcp-timewait:25:127.0.0.1:8080", "--make", "udp:9:127.0.0.1:53",
                                "--make", "listen:1:[::1]:8081", "--make", "tcp:6:[::1]:8081", "--make", "udp:4:[::1]:5353"])
        defer { lab.stop() }
        _ = try lab.waitForLine(startingWith: "READY")

        let b = try NamedNetworkNamespace()
        defer { b.delete() }
        try b.sysctl("net.ipv4.ip_local_port_range", "40000 40499")
        try b.sysctl("net.ipv4.tcp_tw_reuse", "1")

        let c = try NetworkNamespace()
        let sleeper = try c.launch(["sleep", "600"])
        defer { sleeper.stop() }

        let handles = NamespaceHandles()
        let first = handles.refresh(NamespaceScanner().scan())
        let (idA, idB, idC) = (try a.inode, try b.inode, try c.inode)
        for inode in [idA, idB, idC] {
            #expect(first.opened.contains { $0.inode == inode }, "no handle opened for \(inode): \(first.failures)")
        }
        // B's and C's handles are looked up at each use, never held here: the test checks
        // they are released once their namespaces are gone.
        func handle(_ inode: UInt64) throws -> NamespaceHandle {
            try #require(handles.namespaces.first { $0.inode == inode }.flatMap(handles.handle))
        }
        let handleA = try handle(idA)

        // Ranges: each its own, read on this thread through the kept files.
        let rangeA = try handleA.range()
        #expect(rangeA.low == 20000 && rangeA.high == 20999 && rangeA.reservedInRange == 101 && rangeA.limit == 899)
        let rangeB = try handle(idB).range()
        #expect(rangeB.low == 40000 && rangeB.high == 40499 && rangeB.limit == 500)
        let defaults = try c.run { try EphemeralRangeReader.current() }
        #expect(try handle(idC).range() == defaults)
        #expect(Self.setting("net.ipv4.tcp_tw_reuse", handleA) == 0)
        #expect(Self.setting("net.ipv4.tcp_tw_reuse", try handle(idB)) == 1)
        #expect(Self.setting("net.ipv4.tcp_tw_reuse", try handle(idC)) == Double(try c.readSysctl("net.ipv4.tcp_tw_reuse")))

        // A change after the handle was made is seen at the next read.
        try a.setPortRange(low: 21000, high: 21499)
        #expect(try handleA.range().limit == 500)

        // Socket counts (sockstat) equal what ss lists inside each namespace.
        let countsA = try handleA.socketCounts()
        let ssA = try Self.ssCounts { try a.spawn($0) }
        #expect(countsA == ssA)
        #expect(countsA.tcpTimeWait == 25 && countsA.tcp4InUse == 1 + 40 * 2 && countsA.tcp6InUse == 1 + 6 * 2)
        #expect(countsA.udp4InUse == 9 && countsA.udp6InUse == 4)
        #expect(try handle(idB).socketCounts() == Self.ssCounts { try b.spawn($0) })
        #expect(try handle(idC).socketCounts() == Self.ssCounts { try c.spawn($0) })

        // The SOCK_DIAG socket is A's: its dumps list A's sockets only.
        #expect(try handleA.sockDiag.count(DumpQuery(proto: .tcp, family: .ipv4)) == countsA.tcp4InUse + 25)
        #expect(try handleA.sockDiag.count(DumpQuery(proto: .udp, family: .ipv6)) == 4)
        #expect(try handle(idB).sockDiag.count(DumpQuery(proto: .tcp, family: .ipv4)) == 0)

        // The cost rule on live figures: A's 131 TCP sockets exceed 10% of 500 ports; UDP does not.
        #expect(CostRule.decide(counts: countsA, limit: try handleA.range().limit) == CollectionDecision(tcp: .exact, udp: .bound(13.0 / 500)))

        // A second pass with nothing new opens nothing and closes nothing of ours.
        let second = handles.refresh(NamespaceScanner().scan())
        #expect(!second.opened.contains { [idA, idB, idC].contains($0.inode) })
        #expect(!second.closed.contains { [idA, idB, idC].contains($0.inode) })
        #expect(handles.handle(for: handleA.id) === handleA)

        // Gone: C's only process exits, B is deleted. Their handles are closed (released).
        weak let releasedB = try handle(idB), releasedC = try handle(idC)
        #expect(releasedB != nil && releasedC != nil)
        sleeper.stop()
        b.delete()
        let third = handles.refresh(NamespaceScanner().scan())
        #expect(third.closed.contains { $0.inode == idB } && third.closed.contains { $0.inode == idC })
        #expect(handles.handle(for: handleA.id) === handleA)
        #expect(!handles.namespaces.contains { $0.inode == idB || $0.inode == idC })
        withExtendedLifetime(handleA) {}
        #expect(releasedB == nil && releasedC == nil, "a closed handle is still referenced")
    }

    @Test func aNamespaceThatVanishedBeforeEntryIsReportedAndRetried() throws {
        let ns = try NetworkNamespace()
        let holder = try ns.launch(["sleep", "600"])
        let inventory = NamespaceScanner().scan()
        let id = try #require(inventory.namespaces.first { $0.processID == holder.pid }?.id)
        holder.stop()
        let results = NamespaceEntry.makeHandles([NamespaceEntry.Target(id: id, paths: ["/proc/\(holder.pid)/ns/net"])])
        #expect(results.count == 1)
        guard case .failure(let error) = results[0] else { Issue.record("entered a namespace with no process left"); return }
        #expect(error == .vanished(id) && error.isTransient)
    }

    @Test func aPathShowingAnotherNamespaceIsNotEntered() throws {
        // The PID was reused by a process in another namespace: the inode check refuses it.
        let ns = try NetworkNamespace()
        let inode = try ns.inode
        let target = NamespaceEntry.Target(id: NamespaceID(device: 4, inode: inode &+ 1_000_000), paths: ["/proc/thread-self/ns/net"])
        let results = NamespaceEntry.makeHandles([target])
        guard case .failure(.vanished) = results.first else { Issue.record("\(results)"); return }
    }

    @Test func aNamespaceNamedByPathGetsAHandle() throws {
        // What `report --netns NAME|PATH|PID` will do: one namespace, no discovery.
        let named = try NamedNetworkNamespace()
        defer { named.delete() }
        try named.sysctl("net.ipv4.ip_local_port_range", "30000 30009")
        let target = try #require(NamespaceEntry.Target(path: named.path))
        #expect(target.id.inode == (try named.inode))
        let handle = try NamespaceEntry.makeHandles([target])[0].get()
        #expect(try handle.range().limit == 10)
        #expect(NamespaceEntry.Target(path: "/run/netns/pp-test-absent-\(getpid())") == nil)
        #expect(NamespaceEntry.Target(path: "/etc/hostname") == nil)
        #expect(NamespaceEntry.Target(path: "/proc/self/ns/net")?.id == NamespaceScanner.identify("/proc/self/ns/net"))
    }

    static func setting(_ name: String, _ handle: NamespaceHandle) -> Double? {
        handle.kernelSettings().first { $0.name == name }?.value
    }

    /// What `ss` lists inside a namespace, in sockstat's terms.
    static func ssCounts(_ spawn: ([String]) throws -> ProcessResult) throws -> SocketCounts {
        func lines(_ arguments: [String]) throws -> Int {
            let result = try spawn(["ss", "-H"] + arguments)
            guard result.status == 0 else { throw NetworkNamespace.Failure("ss \(arguments): \(result.stderr)") }
            return result.stdout.split(separator: "\n").count
        }
        return SocketCounts(
            tcp4InUse: try lines(["-tan4", "exclude", "time-wait"]),
            tcp6InUse: try lines(["-tan6", "exclude", "time-wait"]),
            tcpTimeWait: try lines(["-tan", "state", "time-wait"]),
            udp4InUse: try lines(["-uan4"]),
            udp6InUse: try lines(["-uan6"]))
    }
}
