#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemCalls
import SystemPackage

/// Makes handles inside other network namespaces on one dedicated thread.
///
/// A network namespace belongs to a thread (`setns` moves only the caller) and Swift tasks hop
/// between threads, so entering one from async code would leak it into unrelated work. Each
/// call starts one POSIX thread that enters each namespace in turn, makes its handle there,
/// returns to its own namespace, and ends; the caller waits for it (join). A thread that
/// cannot return stops at once and ends, so nothing else ever runs in a namespace by mistake.
public enum NamespaceEntry {
    /// A namespace to enter: its id and the paths that may open it, best first.
    public struct Target: Sendable {
        public let id: NamespaceID
        public let paths: [String]

        public init(id: NamespaceID, paths: [String]) {
            self.id = id
            self.paths = paths
        }

        public init(_ namespace: DiscoveredNamespace) {
            self.init(id: namespace.id, paths: namespace.paths)
        }

        /// The file of the namespace a user names: a PID (`/proc/PID/ns/net`), a path (kept),
        /// or an `ip netns` name (`/run/netns/NAME`). For `report --netns` and probes' `netns`.
        public static func path(naming argument: String) -> String {
            if !argument.isEmpty && argument.allSatisfy(\.isNumber) { return "/proc/\(argument)/ns/net" }
            return argument.contains("/") ? argument : "/run/netns/" + argument
        }

        /// The namespace a path shows now: `/run/netns/NAME`, `/proc/PID/ns/net`, a Docker
        /// sandbox key (for `report --netns` and probes); nil when it shows none (absent, or not
        /// a namespace file).
        public init?(path: String) {
            guard (try? isNamespaceFile(path)) == true, let id = NamespaceScanner.identify(path) else { return nil }
            self.init(id: id, paths: [path])
        }
    }

    /// One handle (or the reason there is none) per target, in order.
    public static func makeHandles(_ targets: [Target]) -> [Result<NamespaceHandle, NamespaceError>] {
        guard !targets.isEmpty else { return [] }
        let work = Work(targets)
        let context = Unmanaged.passRetained(work).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let work = Unmanaged<Work>.fromOpaque(context!).takeRetainedValue()
            work.results = NamespaceEntry.enterEach(work.targets)
            return nil
        }, context)
        guard started == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            return targets.map { _ in .failure(.thread(errno: Errno(rawValue: started))) }
        }
        pthread_join(thread, nil)  // orders the thread's write of `results` before this read
        return work.results
    }

    /// Handed to the thread and read back after `pthread_join`.
    private final class Work: @unchecked Sendable {
        let targets: [Target]
        var results: [Result<NamespaceHandle, NamespaceError>] = []
        init(_ targets: [Target]) { self.targets = targets }
    }

    /// Runs on the dedicated thread only.
    private static func enterEach(_ targets: [Target]) -> [Result<NamespaceHandle, NamespaceError>] {
        let home: FileDescriptor
        do {
            home = try FileDescriptor.open("/proc/thread-self/ns/net", .readOnly, options: [.closeOnExec])
        } catch {
            let failure = NamespaceError.open(path: "/proc/thread-self/ns/net", errno: error as? Errno ?? .ioError)
            return targets.map { _ in .failure(failure) }
        }
        defer { try? home.close() }
        var results: [Result<NamespaceHandle, NamespaceError>] = []
        for target in targets {
            let entered: FileDescriptor
            switch open(target) {
            case let .success(file): entered = file
            case let .failure(error):
                results.append(.failure(error))
                continue
            }
            defer { try? entered.close() }
            do {
                try enterNetworkNamespace(entered)
            } catch {
                results.append(.failure(.enter(target.id, errno: error)))
                continue
            }
            results.append(Result { () throws(NamespaceError) in try NamespaceHandle(madeHereFor: target.id) })
            do {
                try enterNetworkNamespace(home)
            } catch {
                // The handle just made is sound (made inside its namespace); the thread is not:
                // it makes nothing more and ends here.
                let failure = NamespaceError.returnFailed(errno: error)
                while results.count < targets.count { results.append(.failure(failure)) }
                return results
            }
        }
        return results
    }

    /// The first of the target's paths that opens its namespace (same device and inode as
    /// discovered: a PID can be reused, a bind mount replaced).
    private static func open(_ target: Target) -> Result<FileDescriptor, NamespaceError> {
        var failure = NamespaceError.vanished(target.id)
        for path in target.paths {
            let file: FileDescriptor
            do {
                file = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
            } catch {
                let code = error as? Errno ?? .ioError
                if code != .noSuchFileOrDirectory && code != .noSuchProcess { failure = .open(path: path, errno: code) }
                continue
            }
            var info = stat()
            if fstat(file.rawValue, &info) == 0,
               NamespaceID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) == target.id {
                return .success(file)
            }
            try? file.close()
        }
        return .failure(failure)
    }
}
