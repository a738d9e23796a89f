#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemCalls
import Synchronization

/// Turns cgroup v2 ids (`INET_DIAG_CGROUP_ID`) into cgroup paths like `/system.slice/nginx.service`.
///
/// A cgroup v2 id is the inode number of the cgroup's directory in the cgroup2 filesystem, so
/// the resolver walks that tree (bounded in directories and depth), caches id → path, and on a
/// miss walks again at most once per `rescanInterval` (cgroups come and go). Unknown ids
/// resolve to nil. Thread-safe.
public final class CgroupPathResolver: Sendable {
    /// Where cgroup2 is mounted, from `/proc/self/mountinfo`: `/sys/fs/cgroup` on unified
    /// hosts, `/sys/fs/cgroup/unified` on hybrid ones; nil when cgroup2 is not mounted.
    public static func unifiedMountPoint() -> String? {
        guard let text = try? WholeFile.text("/proc/self/mountinfo") else { return nil }
        return cgroup2MountPoint(mountinfo: text)
    }

    /// The first cgroup2 mount point in `mountinfo` text (`id parent major:minor root mountpoint
    /// options... - fstype source superoptions`), preferring `/sys/fs/cgroup`.
    static func cgroup2MountPoint(mountinfo: String) -> String? {
        var found: [String] = []
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields.count > 4,
                  fields[dash + 1] == "cgroup2" else { continue }
            // Mount points escape spaces and such as octal (\040); cgroup mounts have none.
            found.append(String(fields[4]))
        }
        return found.first(where: { $0 == "/sys/fs/cgroup" }) ?? found.first
    }

    /// The directory walked (a cgroup2 mount point), nil when there is none: then nothing resolves.
    public let root: String?
    private let maximumDirectories: Int
    private let maximumDepth: Int
    private let rescanInterval: Duration

    private struct Cache {
        var paths: [UInt64: String] = [:]
        var lastScan: ContinuousClock.Instant?
        var scans = 0
    }
    private let cache = Mutex(Cache())

    public init(
        root: String? = CgroupPathResolver.unifiedMountPoint(),
        maximumDirectories: Int = 65_536, maximumDepth: Int = 64, rescanInterval: Duration = .seconds(5)
    ) {
        self.root = root
        self.maximumDirectories = maximumDirectories
        self.maximumDepth = maximumDepth
        self.rescanInterval = rescanInterval
    }

    /// The cgroup's path below the mount point (`/` for the root cgroup), nil when unknown.
    public func path(for id: UInt64) -> String? {
        guard let root else { return nil }
        return cache.withLock { cache in
            if let path = cache.paths[id] { return path }
            let now = ContinuousClock.now
            if let last = cache.lastScan, now - last < rescanInterval { return nil }
            cache.paths = Self.scan(root: root, maximumDirectories: maximumDirectories, maximumDepth: maximumDepth)
            cache.lastScan = now
            cache.scans += 1
            return cache.paths[id]
        }
    }

    /// How many times the tree was walked (for tests and diagnostics).
    public var scanCount: Int { cache.withLock { $0.scans } }

    /// Walks `root` breadth-first: id (directory inode) → path relative to `root`.
    static func scan(root: String, maximumDirectories: Int, maximumDepth: Int) -> [UInt64: String] {
        var paths: [UInt64: String] = [:]
        var rootInfo = stat()
        guard stat(root, &rootInfo) == 0 else { return paths }
        paths[UInt64(rootInfo.st_ino)] = "/"
        var pending: [(relative: String, depth: Int)] = [("", 0)]
        var visited = 0
        while let (relative, depth) = pending.popLast(), visited < maximumDirectories {
            visited += 1
            guard depth < maximumDepth else { continue }
            try? Directory.forEachEntry(root + relative) { entry in
                let child = relative + "/" + entry.name
                var isDirectory = entry.isDirectory ?? false
                var inode = entry.inode
                if entry.isDirectory == nil {
                    var info = stat()
                    guard lstat(root + child, &info) == 0 else { return }
                    isDirectory = info.st_mode & S_IFMT == S_IFDIR
                    inode = UInt64(info.st_ino)
                }
                guard isDirectory, paths.count < maximumDirectories else { return }
                paths[inode] = child
                pending.append((child, depth + 1))
            }
        }
        return paths
    }
}
