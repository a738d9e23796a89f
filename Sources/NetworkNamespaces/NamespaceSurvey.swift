import SocketModel

/// What one namespace shows at a scrape before any dump: its O(1) figures and what the cost
/// rule makes of them.
public struct NamespaceFigures: Sendable, Equatable {
    public let counts: SocketCounts
    public let range: EphemeralRange
    public let decision: CollectionDecision
}

/// One namespace at one scrape: who it is, its handle, and its figures or why there are none.
public struct NamespaceReading: Sendable {
    public let namespace: DiscoveredNamespace
    public let identity: WorkloadIdentity
    /// For the dumps the decision asks for; nil when the namespace could not be entered.
    public let handle: NamespaceHandle?
    public let figures: Result<NamespaceFigures, NamespaceError>
}

extension NamespaceHandles {
    /// The per-scrape step up to the dumps: bring the handles in line with `inventory`, then
    /// read every namespace's counts and range through its handle (two small reads each, no
    /// dump) and apply the cost rule. In inventory order.
    public func survey(_ inventory: NamespaceInventory) -> [NamespaceReading] {
        let refresh = refresh(inventory)
        return inventory.namespaces.map { namespace in
            let identity = identity(for: namespace.id)
            guard let handle = handle(for: namespace.id) else {
                let failure = refresh.failures[namespace.id] ?? .vanished(namespace.id)
                return NamespaceReading(namespace: namespace, identity: identity, handle: nil, figures: .failure(failure))
            }
            let figures = Result { () throws(NamespaceError) -> NamespaceFigures in
                let counts = try handle.socketCounts()
                let range = try handle.range()
                return NamespaceFigures(counts: counts, range: range, decision: CostRule.decide(counts: counts, limit: range.limit))
            }
            return NamespaceReading(namespace: namespace, identity: identity, handle: handle, figures: figures)
        }
    }
}
