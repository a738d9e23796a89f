import Synchronization

/// The collection handles of every live namespace, keyed by namespace: made when discovery
/// first finds a namespace, dropped (closing its socket and files) when discovery no longer
/// does. Thread-safe; `refresh` calls are serialized.
public final class NamespaceHandles: Sendable {
    private struct State {
        var handles: [NamespaceID: NamespaceHandle] = [:]
        /// Namespaces whose handle failed in a way that would repeat (`setns` refused...): not
        /// tried again while they live.
        var failures: [NamespaceID: NamespaceError] = [:]
        /// Who each namespace belongs to, from the cgroup of its lowest PID; read again while
        /// it says nothing (a bind-mounted namespace may get its process later).
        var identities: [NamespaceID: WorkloadIdentity] = [:]
    }

    private let state = Mutex(State())

    private let procRoot: String

    /// - Parameter procRoot: where `/proc/PID/cgroup` files are read (tests may point elsewhere).
    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// What one refresh changed.
    public struct Refresh: Sendable {
        /// Handles made now.
        public var opened: [NamespaceID] = []
        /// Handles dropped now: their namespaces were not found.
        public var closed: [NamespaceID] = []
        /// Namespaces without a handle, and why (failures remembered from earlier refreshes too).
        public var failures: [NamespaceID: NamespaceError] = [:]
    }

    /// Brings the handles in line with `inventory`: one entering thread for all the new
    /// namespaces, nothing at all when none is new.
    @discardableResult
    public func refresh(_ inventory: NamespaceInventory) -> Refresh {
        state.withLock { state in
            var refresh = Refresh()
            let live = Set(inventory.namespaces.map(\.id))
            for id in state.handles.keys where !live.contains(id) {
                state.handles[id] = nil
                refresh.closed.append(id)
            }
            state.failures = state.failures.filter { live.contains($0.key) }
            state.identities = state.identities.filter { live.contains($0.key) }
            for namespace in inventory.namespaces where state.identities[namespace.id]?.isEmpty ?? true {
                state.identities[namespace.id] = namespace.processID.map { WorkloadIdentity.read(pid: $0, procRoot: procRoot) } ?? WorkloadIdentity()
            }
            let targets = inventory.namespaces
                .filter { state.handles[$0.id] == nil && state.failures[$0.id] == nil }
                .map(NamespaceEntry.Target.init)
            for (target, result) in zip(targets, NamespaceEntry.makeHandles(targets)) {
                switch result {
                case let .success(handle):
                    state.handles[target.id] = handle
                    refresh.opened.append(target.id)
                case let .failure(error):
                    refresh.failures[target.id] = error
                    if !error.isTransient { state.failures[target.id] = error }
                }
            }
            for (id, error) in state.failures { refresh.failures[id] = error }
            refresh.closed.sort()
            return refresh
        }
    }

    /// The handle of `id`, nil when it has none (not discovered yet, or failed).
    public func handle(for id: NamespaceID) -> NamespaceHandle? {
        state.withLock { $0.handles[id] }
    }

    /// The pod and container of `id`, empty when unknown or not discovered.
    public func identity(for id: NamespaceID) -> WorkloadIdentity {
        state.withLock { $0.identities[id] } ?? WorkloadIdentity()
    }

    /// The namespaces that have a handle, sorted.
    public var namespaces: [NamespaceID] {
        state.withLock { $0.handles.keys.sorted() }
    }
}
