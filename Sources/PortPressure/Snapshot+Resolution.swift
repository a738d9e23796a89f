import SocketModel

// The analysis is pure; what needs I/O (asking the kernel which socket receives, reading
// cgroup paths) is done through these hooks by the snapshot pipeline (Snapshotting's
// HostSnapshotter), in collection, before anything is rendered; tests drive them too.

extension Snapshot {
    /// Asks `lookup` which socket receives each kept duplicate UDP 4-tuple
    /// (`udpDuplicates`, at most `options.topUDPDuplicates` lookups) and records the answer:
    /// each socket's `receives`, the tuple's `receiver`, and the family's
    /// `overshadowedSockets` (corrected when the kernel delivers outside the group or
    /// nowhere). `lookup` typically does an exact SOCK_DIAG lookup of the tuple (with the
    /// sockets' interface index) and returns `.socket(cookie:)` of whatever the kernel
    /// returned, `.noSocket` for none, `.failed(reason)` on an error.
    public func resolvingReceivers(_ lookup: (UDPDuplicate) -> ReceiverLookup) -> Snapshot {
        var copy = self
        for i in copy.udpDuplicates.indices {
            let before = copy.udpDuplicates[i].overshadowedCount
            var duplicate = copy.udpDuplicates[i]
            duplicate.receiver = lookup(duplicate)
            for j in duplicate.sockets.indices {
                switch duplicate.receiver {
                case let .socket(cookie): duplicate.sockets[j].receives = duplicate.sockets[j].cookie == cookie
                case .noSocket: duplicate.sockets[j].receives = false
                case .unresolved, .failed: duplicate.sockets[j].receives = nil
                }
            }
            copy.udpDuplicates[i] = duplicate
            let change = duplicate.overshadowedCount - before
            if change != 0, let t = copy.udpDuplicateTotals.firstIndex(where: { $0.family == duplicate.family }) {
                copy.udpDuplicateTotals[t].overshadowedSockets += change
            }
        }
        return copy
    }

    /// Sets `cgroupPath` of every kept owner with a cgroup id to `path(id)`, asking once per
    /// distinct id; nil (unknown, e.g. the cgroup is gone) leaves it nil.
    public func resolvingCgroupPaths(_ path: (UInt64) -> String?) -> Snapshot {
        var copy = self
        var known: [UInt64: String?] = [:]
        for i in copy.owners.indices {
            guard let id = copy.owners[i].cgroupID else { continue }
            if known[id] == nil { known[id] = .some(path(id)) }
            copy.owners[i].cgroupPath = known[id] ?? nil
        }
        return copy
    }
}
