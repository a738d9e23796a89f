#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SockDiag
import SocketModel
import SystemCalls
import SystemPackage
import TestSupport

@Suite struct EphemeralRangeReaderTests {
    @Test func readsANarrowedRangeWithReservedPortsInTheNamespace() throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40999, reserved: "39000-40004,40500,40990-41000,50000")
        let range = try ns.run { try EphemeralRangeReader.current() }
        #expect(range.low == 40000)
        #expect(range.high == 40999)
        #expect(range.reservedInRange == 5 + 1 + 10)
        #expect(range.limit == 1000 - 16)
        #expect(!range.isEphemeral(40004) && range.isEphemeral(40005) && !range.isEphemeral(40500))
        #expect(range.reservedPorts.contains(50000))
    }

    @Test func eachNamespaceHasItsOwnRange() throws {
        let a = try NetworkNamespace()
        let b = try NetworkNamespace()
        try a.setPortRange(low: 1000, high: 1999)
        try b.setPortRange(low: 50000, high: 50099)
        #expect(try a.run { try EphemeralRangeReader.current().limit } == 1000)
        #expect(try b.run { try EphemeralRangeReader.current().limit } == 100)
    }

    @Test func longReservedListIsReadWhole() throws {
        // Every other port: nothing merges into ranges, so the list is near the 4 KiB the
        // kernel takes in one write, and is read back whole.
        let ns = try NetworkNamespace()
        let reserved = stride(from: 30001, through: 31359, by: 2).map(String.init).joined(separator: ",")
        try ns.setPortRange(low: 30000, high: 39999, reserved: reserved)
        let (range, text) = try ns.run { (try EphemeralRangeReader.current(), try WholeFile.text(EphemeralRangeReader.reservedPortsPath)) }
        #expect(text.utf8.count > 4000)
        #expect(range.reservedInRange == 680)
        #expect(range.limit == 10000 - 680)
    }

    @Test func procFileReadsPastItsFirstChunk() throws {
        let path = temporaryPath("big")
        defer { unlink(path) }
        let text = String(repeating: "0123456789abcdef", count: 10_000)
        try writeText(path, text)
        #expect(try WholeFile.text(path) == text)
        #expect(throws: Errno.fileTooLarge) { try WholeFile.read(path, limit: 1000) }
    }

    @Test func unreadableFilesGiveTheErrno() {
        #expect(throws: EphemeralRangeError.unreadable(path: "/nonexistent/range", reason: "No such file or directory (errno 2)")) {
            try EphemeralRangeReader.read(portRangePath: "/nonexistent/range", reservedPortsPath: EphemeralRangeReader.reservedPortsPath)
        }
    }

    @Test func malformedContentIsRejected() throws {
        let range = temporaryPath("range")
        let reserved = temporaryPath("reserved")
        defer { unlink(range); unlink(reserved) }
        try writeText(range, "32768 60999\n")
        try writeText(reserved, "1000-x\n")
        #expect(throws: EphemeralRangeError.malformedReserved(token: "1000-x")) {
            try EphemeralRangeReader.read(portRangePath: range, reservedPortsPath: reserved)
        }
        try writeText(range, "60999\n")
        #expect(throws: EphemeralRangeError.self) { try EphemeralRangeReader.read(portRangePath: range, reservedPortsPath: reserved) }
    }
}

@Suite struct KernelSettingsTests {
    @Test func readsTheNamespaceValues() throws {
        let ns = try NetworkNamespace()
        try ns.sysctl("net.ipv4.tcp_tw_reuse", "0")
        try ns.sysctl("net.ipv4.tcp_fin_timeout", "17")
        try ns.sysctl("net.ipv4.tcp_max_tw_buckets", "1234")
        let settings = try ns.run { KernelSettings.current() }
        let values = Dictionary(uniqueKeysWithValues: settings.map { ($0.name, $0.value) })
        #expect(values["net.ipv4.tcp_tw_reuse"] == 0)
        #expect(values["net.ipv4.tcp_fin_timeout"] == 17)
        #expect(values["net.ipv4.tcp_max_tw_buckets"] == 1234)
        #expect(values["net.ipv4.ip_autobind_reuse"] != nil)
        #expect(settings.map(\.name) == KernelSettings.names, "in the documented order")
    }

    @Test func missingOrUnparsableSettingsAreLeftOut() throws {
        let root = temporaryPath("procsys")
        try makeDirectory(root + "/net/ipv4")
        try writeText(root + "/net/ipv4/tcp_tw_reuse", "2\n")
        try writeText(root + "/net/ipv4/tcp_fin_timeout", "sixty\n")
        defer { _ = try? ProcessResult.run(["rm", "-rf", root]) }
        let settings = KernelSettings.current(procSys: root)
        #expect(settings.map(\.name) == ["net.ipv4.tcp_tw_reuse"])
        #expect(settings.first?.value == 2)
    }
}

@Suite struct CgroupPathResolverTests {
    func inode(_ path: String) throws -> UInt64 {
        var info = stat()
        try #require(stat(path, &info) == 0)
        return UInt64(info.st_ino)
    }

    @Test func resolvesDirectoryInodesToPathsAndRescansOnAMiss() throws {
        let root = temporaryPath("cgroup")
        try makeDirectory(root + "/system.slice/nginx.service")
        try makeDirectory(root + "/user.slice")
        try writeText(root + "/cgroup.procs", "")
        defer { _ = try? ProcessResult.run(["rm", "-rf", root]) }
        let resolver = CgroupPathResolver(root: root, rescanInterval: .zero)
        #expect(resolver.path(for: try inode(root)) == "/")
        #expect(resolver.path(for: try inode(root + "/system.slice/nginx.service")) == "/system.slice/nginx.service")
        #expect(resolver.path(for: try inode(root + "/user.slice")) == "/user.slice")
        #expect(resolver.scanCount == 1, "hits come from the cache")
        #expect(resolver.path(for: try inode(root + "/cgroup.procs")) == nil, "files are not cgroups")
        #expect(resolver.scanCount == 2, "a miss walks again")
        // A cgroup made after the walk is found by the rescan a miss triggers.
        try makeDirectory(root + "/user.slice/session-1.scope")
        #expect(resolver.path(for: try inode(root + "/user.slice/session-1.scope")) == "/user.slice/session-1.scope")
        #expect(resolver.scanCount == 3)
    }

    @Test func missesDoNotRescanWithinTheInterval() throws {
        let root = temporaryPath("cgroup")
        try makeDirectory(root + "/a")
        defer { _ = try? ProcessResult.run(["rm", "-rf", root]) }
        let resolver = CgroupPathResolver(root: root, rescanInterval: .seconds(3600))
        #expect(resolver.path(for: 0xdead_beef) == nil)
        #expect(resolver.path(for: 0xdead_beee) == nil)
        #expect(resolver.scanCount == 1)
        #expect(resolver.path(for: try inode(root + "/a")) == "/a")
    }

    @Test func walkIsBounded() throws {
        let root = temporaryPath("cgroup")
        try makeDirectory(root + "/a/b/c/d")
        defer { _ = try? ProcessResult.run(["rm", "-rf", root]) }
        let shallow = CgroupPathResolver(root: root, maximumDepth: 2)
        #expect(shallow.path(for: try inode(root + "/a/b")) == "/a/b")
        #expect(shallow.path(for: try inode(root + "/a/b/c")) == nil)
        let few = CgroupPathResolver(root: root, maximumDirectories: 2)
        #expect(few.path(for: try inode(root + "/a/b/c/d")) == nil)
    }

    @Test func noMountResolvesNothing() {
        #expect(CgroupPathResolver(root: nil).path(for: 1) == nil)
        #expect(CgroupPathResolver(root: "/nonexistent/cgroup", rescanInterval: .zero).path(for: 1) == nil)
    }

    @Test func findsTheCgroup2MountInMountinfo() {
        let hybrid = """
        25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw
        33 25 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
        41 33 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
        #expect(CgroupPathResolver.cgroup2MountPoint(mountinfo: hybrid) == "/sys/fs/cgroup/unified")
        let unified = "40 33 0:38 / /mnt/other rw - cgroup2 cgroup2 rw\n35 25 0:30 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
        #expect(CgroupPathResolver.cgroup2MountPoint(mountinfo: unified) == "/sys/fs/cgroup")
        #expect(CgroupPathResolver.cgroup2MountPoint(mountinfo: "25 30 0:23 / /sys rw - sysfs sysfs rw\n") == nil)
    }

    /// The cgroup id the kernel reports for our own socket resolves to the cgroup
    /// /proc/self/cgroup names for us.
    @Test func ownSocketResolvesToOwnCgroup() throws {
        let text = try WholeFile.text("/proc/self/cgroup")
        let own = try #require(text.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) },
                               "a cgroup2 hierarchy")
        let ns = try NetworkNamespace()
        let record = try ns.run { () -> SocketRecord? in
            let udp = try TestSocket(.ipv4, .udp)
            try udp.bind(.at("127.0.0.1", 0))
            var found: SocketRecord?
            try SockDiagClient().dump(DumpQuery(proto: .udp, family: .ipv4)) { found = $0 }
            withExtendedLifetime(udp) {}
            return found
        }
        let id = try #require(record?.cgroupID)
        let resolver = CgroupPathResolver()
        #expect(resolver.root != nil)
        #expect(resolver.path(for: id) == own)
    }
}

func writeText(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    try #require(fd >= 0, "open \(path)")
    defer { close(fd) }
    let bytes = Array(text.utf8)
    try #require(write(fd, bytes, bytes.count) == bytes.count)
}

func makeDirectory(_ path: String) throws {
    let result = try ProcessResult.run(["mkdir", "-p", path])
    try #require(result.status == 0, "mkdir -p \(path): \(result.stderr)")
}

@Suite struct DirectoryTests {
    @Test func entriesAreReadUpToTheMaximum() throws {
        let root = temporaryPath("directory")
        try makeDirectory(root + "/sub")
        for name in ["a", "b", "c", "d"] { try writeText(root + "/" + name, "") }
        defer { _ = try? ProcessResult.run(["rm", "-rf", root]) }
        var all: [Directory.Entry] = []
        try Directory.forEachEntry(root) { all.append($0) }
        #expect(all.count == 5 && Set(all.map(\.name)) == ["sub", "a", "b", "c", "d"], "every entry but . and ..")
        // Seven entries with . and ..: reading four gives two to four, wherever . and .. come.
        var few: [String] = []
        try Directory.forEachEntry(root, maximumEntries: 4) { few.append($0.name) }
        #expect((2...4).contains(few.count) && Set(few).isSubset(of: Set(all.map(\.name))))
        var none = 0
        try Directory.forEachEntry(root, maximumEntries: 0) { _ in none += 1 }
        #expect(none == 0)
        #expect(throws: Errno.noSuchFileOrDirectory) { try Directory.forEachEntry(root + "/absent") { _ in } }
    }
}
