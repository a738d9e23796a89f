/// Where a namespace was seen during discovery.
public struct NamespaceSighting: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// `/proc/PID/ns/net` of a process.
        case process(pid: Int32)
        /// A bind mount in `/run/netns/` (`ip netns add NAME`).
        case named(String)
        /// A bind mount in `/run/docker/netns/` (Docker's sandbox key).
        case docker(String)
    }

    public let source: Source
    /// A path that opens the namespace (for `setns`).
    public let path: String
    public let id: NamespaceID

    public init(source: Source, path: String, id: NamespaceID) {
        self.source = source
        self.path = path
        self.id = id
    }
}

/// One distinct network namespace of the host and what discovery learned about it.
public struct DiscoveredNamespace: Sendable, Equatable {
    public let id: NamespaceID
    /// Its `ip netns` names, sorted (usually none or one).
    public internal(set) var names: [String] = []
    /// Its names in `/run/docker/netns/`, sorted.
    public internal(set) var dockerNames: [String] = []
    /// The lowest PID seen in it, nil when no process is in it (a bind mount holds it): the
    /// process whose cgroup names the pod or container, and whose `/proc/PID/net` is the
    /// namespace's.
    public internal(set) var processID: Int32?
    /// How many processes were seen in it.
    public internal(set) var processCount = 0
    /// Paths that open it, best first: bind mounts (they stay while the namespace does), then
    /// `/proc/<lowest PID>/ns/net`.
    public internal(set) var paths: [String] = []
    /// The host's namespace (the initial one, of kernel threads and of PID 1 on the host).
    public internal(set) var isHost = false

    init(id: NamespaceID) { self.id = id }

    /// The `name` label: its first `ip netns` name, `host` for the host's, else empty.
    public var name: String { names.first ?? (isHost ? "host" : "") }
}

/// Every distinct network namespace found in one discovery pass, sorted by inode.
public struct NamespaceInventory: Sendable, Equatable {
    public let namespaces: [DiscoveredNamespace]
    /// Entries that exist but could not be read (`EACCES`, `EPERM`...): skipped, counted here.
    /// Processes that exited during the pass are not counted.
    public let unreadable: Int
    /// Files in the bind-mount folders that are not namespaces (a leftover of a failed
    /// `ip netns add`, or unmounted): skipped, counted here.
    public let stale: Int
    /// The host's namespace, nil when it cannot be told (see `HostClues`).
    public let host: NamespaceID?
    /// The namespace of the thread that did the discovery.
    public let own: NamespaceID?

    /// Merges sightings into distinct namespaces (pure). A namespace gets every name and path
    /// it was seen under, and the lowest PID.
    public init(sightings: [NamespaceSighting], unreadable: Int = 0, stale: Int = 0, host: NamespaceID?, own: NamespaceID?) {
        var byID: [NamespaceID: DiscoveredNamespace] = [:]
        var processPaths: [NamespaceID: (pid: Int32, path: String)] = [:]
        for sighting in sightings {
            var namespace = byID[sighting.id] ?? DiscoveredNamespace(id: sighting.id)
            switch sighting.source {
            case let .process(pid):
                namespace.processCount += 1
                if namespace.processID.map({ pid < $0 }) ?? true {
                    namespace.processID = pid
                    processPaths[sighting.id] = (pid, sighting.path)
                }
            case let .named(name):
                namespace.names.append(name)
                namespace.paths.append(sighting.path)
            case let .docker(name):
                namespace.dockerNames.append(name)
                namespace.paths.append(sighting.path)
            }
            byID[sighting.id] = namespace
        }
        namespaces = byID.values.map { found in
            var namespace = found
            namespace.names.sort()
            namespace.dockerNames.sort()
            namespace.paths.sort()
            if let process = processPaths[namespace.id] { namespace.paths.append(process.path) }
            namespace.isHost = namespace.id == host
            return namespace
        }.sorted { $0.id < $1.id }
        self.unreadable = unreadable
        self.stale = stale
        self.host = host
        self.own = own
    }

    public subscript(id: NamespaceID) -> DiscoveredNamespace? {
        namespaces.first { $0.id == id }
    }
}

/// What tells the host's network namespace apart, without relying on PID 1 alone (a sandbox
/// or a hardened init can make `/proc/1/ns/net` unreadable even to root).
///
/// Kernel threads always live in the initial network namespace, and `kthreadd` is PID 2 in
/// the initial PID namespace. So: the namespace of PID 2 when it is a kernel thread; else
/// PID 1's, but only when PID 2 is a kernel thread (so this is the host's PID namespace,
/// `hostPID` in Kubernetes) and merely unreadable. In a private PID namespace neither is the
/// host's (PID 1 is the container's init): the host is then unknown, never guessed.
public struct HostClues: Sendable, Equatable {
    /// PID 2 is a kernel thread (`PF_KTHREAD` in `/proc/2/stat`).
    public var kernelThreadVisible: Bool
    /// The namespace of PID 2 when it could be read.
    public var kernelThread: NamespaceID?
    /// The namespace of PID 1 when it could be read.
    public var initProcess: NamespaceID?

    public init(kernelThreadVisible: Bool, kernelThread: NamespaceID?, initProcess: NamespaceID?) {
        self.kernelThreadVisible = kernelThreadVisible
        self.kernelThread = kernelThread
        self.initProcess = initProcess
    }

    public var host: NamespaceID? {
        guard kernelThreadVisible else { return nil }
        return kernelThread ?? initProcess
    }

    /// `PF_KTHREAD` from `/proc/PID/stat` text, nil when the text is not a stat line. Fields
    /// follow the command name in parentheses, which may itself hold spaces and parentheses,
    /// so they are counted from the last `)`: state, ppid, pgrp, session, tty, tpgid, flags.
    public static func isKernelThread(stat: String) -> Bool? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 6, let flags = UInt64(fields[6]) else { return nil }
        return flags & 0x0020_0000 != 0  // PF_KTHREAD
    }
}
