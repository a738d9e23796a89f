#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemCalls
import SockDiag

/// Finds every distinct network namespace of the host: each process's `/proc/PID/ns/net` and
/// the bind mounts of `ip netns` and Docker. Meant to run at every scrape (namespaces come and
/// go): one `readlinkat` per process and one `stat` per bind mount, no file opened.
///
/// Needs `CAP_SYS_PTRACE` (or the same user) to see other processes' namespaces and the
/// host's PID namespace (`hostPID`) to see them at all.
public struct NamespaceScanner: Sendable {
    public var procRoot: String
    public var namedDirectory: String
    public var dockerDirectory: String

    public init(procRoot: String = "/proc", namedDirectory: String = "/run/netns", dockerDirectory: String = "/run/docker/netns") {
        self.procRoot = procRoot
        self.namedDirectory = namedDirectory
        self.dockerDirectory = dockerDirectory
    }

    /// One discovery pass. Entries that cannot be read are skipped and counted; a process
    /// that exits meanwhile is skipped silently.
    public func scan() -> NamespaceInventory {
        var sightings: [NamespaceSighting] = []
        sightings.reserveCapacity(512)
        var unreadable = 0
        var stale = 0
        // thread-self since Linux 3.17; before, the process's own (main thread's) namespace.
        let own = Self.identify(procRoot + "/thread-self/ns/net") ?? Self.identify(procRoot + "/self/ns/net")
        var clues = HostClues(kernelThreadVisible: false, kernelThread: nil, initProcess: nil)

        // All namespaces live on one nsfs superblock: one device. `readlink` names only the
        // inode, for about half the price of a `stat` that follows the link (no nsfs dentry).
        var nsfsDevice = own?.device
        var link = [CChar](repeating: 0, count: 64)
        if let proc = opendir(procRoot) {
            defer { closedir(proc) }
            let procFD = dirfd(proc)
            // Bounded: a PID is at most 2^22, so are the entries of /proc worth reading.
            for _ in 0..<(1 << 22) {
                guard let entry = readdir(proc) else { break }
                guard let pid = Self.processID(entry) else { continue }
                let relative = "\(pid)/ns/net"
                let length = readlinkat(procFD, relative, &link, link.count)
                guard length > 0 else {
                    if errno != ENOENT && errno != ESRCH { unreadable += 1 }
                    continue
                }
                guard let inode = link.withUnsafeBytes({ Self.inode(link: UnsafeRawBufferPointer(rebasing: $0.prefix(length))) }),
                      let device = nsfsDevice ?? Self.identify(procRoot + "/" + relative)?.device else {
                    unreadable += 1
                    continue
                }
                nsfsDevice = device
                let id = NamespaceID(device: device, inode: inode)
                sightings.append(NamespaceSighting(source: .process(pid: pid), path: procRoot + "/" + relative, id: id))
                if pid == 1 { clues.initProcess = id }
                if pid == 2 { clues.kernelThread = id }
            }
        }
        if let stat = try? WholeFile.text(procRoot + "/2/stat"), HostClues.isKernelThread(stat: stat) == true {
            clues.kernelThreadVisible = true
        }

        // A file there that is not on nsfs is a leftover (a failed `ip netns add`, an unmount);
        // a folder that cannot be opened (absent) holds no namespaces.
        for (directory, isDocker) in [(namedDirectory, false), (dockerDirectory, true)] {
            try? Directory.forEachEntry(directory, maximumEntries: 1 << 20) { entry in
                let path = directory + "/" + entry.name
                var info = stat()
                guard stat(path, &info) == 0 else {
                    if errno != ENOENT { unreadable += 1 }
                    return
                }
                guard (try? isNamespaceFile(path)) == true else {
                    stale += 1
                    return
                }
                let id = NamespaceID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
                sightings.append(NamespaceSighting(source: isDocker ? .docker(entry.name) : .named(entry.name), path: path, id: id))
            }
        }
        return NamespaceInventory(sightings: sightings, unreadable: unreadable, stale: stale, host: clues.host, own: own)
    }

    /// The namespace a path shows (`stat` follows the magic link), nil when unreadable.
    public static func identify(_ path: String) -> NamespaceID? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return NamespaceID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// The inode of a namespace link's text, `net:[4026531833]`; nil for anything else.
    public static func inode(link: UnsafeRawBufferPointer) -> UInt64? {
        let prefix = Array("net:[".utf8)
        guard link.count > prefix.count + 1, link.prefix(prefix.count).elementsEqual(prefix), link.last == UInt8(ascii: "]") else { return nil }
        var value: UInt64 = 0
        for byte in link.dropFirst(prefix.count).dropLast() {
            guard byte >= 0x30, byte <= 0x39, value < UInt64.max / 10 - 9 else { return nil }
            value = value * 10 + UInt64(byte - 0x30)
        }
        return value
    }

    /// The PID a `/proc` entry names, nil for the other entries (`self`, `net`, `sys`...).
    private static func processID(_ entry: UnsafeMutablePointer<dirent>) -> Int32? {
        withUnsafeBytes(of: entry.pointee.d_name) { raw -> Int32? in
            var value: Int32 = 0
            var digits = 0
            for byte in raw {
                if byte == 0 { break }
                guard byte >= 0x30, byte <= 0x39, digits < 9 else { return nil }
                value = value * 10 + Int32(byte - 0x30)
                digits += 1
            }
            return digits > 0 ? value : nil
        }
    }
}
