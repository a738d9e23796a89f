import SocketModel

/// Turns a stream of `SocketRecord`s into a `Snapshot` in one pass.
///
/// Memory grows with distinct keys, not with records: local addresses and owners keep
/// their ports in bitmaps of the ephemeral range (≈3.5 KiB each for the default range,
/// allocated on their first ephemeral port); destinations count distinct ports through one
/// flat set of (destination, port) words (≈8–21 bytes per distinct pair); connected UDP
/// sockets keep their 4-tuple and first socket (≈60 bytes per distinct tuple) to find
/// duplicates. `add(_:)` allocates nothing per record beyond the amortized growth of those
/// tables, and `reset()` keeps them, so reusing one analyzer across dumps avoids regrowth.
///
/// What counts (see also the doc comments of `Snapshot`'s parts):
/// - every record counts in `Snapshot.sockets`;
/// - a record whose local port is ephemeral (`EphemeralRange.isEphemeral`: in the range, not
///   reserved) counts for its local address, its protocol, its owner and — when it has a
///   peer (`SocketRecord.hasPeer`) — its destination. Sockets on other ports (servers'
///   well-known ports, port 0 of `IP_BIND_ADDRESS_NO_PORT` sockets) only appear in the
///   state counts and, for connected UDP, in the duplicate search;
/// - a port is "bound" when a socket without a peer holds it (listening, bound-only,
///   unconnected UDP);
/// - every connected UDP socket (any port) takes part in the duplicate 4-tuple search.
///
/// Usage with a streaming dump:
/// ```swift
/// var analyzer = PortPressureAnalyzer(range: range, options: options)
/// try client.dump(query, restart: { analyzer.reset() }) { analyzer.add($0) }
/// let snapshot = analyzer.finish()
/// ```
public struct PortPressureAnalyzer: Sendable {
    public let range: EphemeralRange
    public let options: AnalysisOptions

    /// Words of one bitmap of the range; bit i is port `range.low + i`.
    private let wordsPerBitmap: Int

    private var recordCount = 0
    /// Indexed by `stateSlot(proto, family, state)`.
    private var stateCounts: [Int]

    /// Per protocol (index 0 tcp, 1 udp): bitmaps of used and bound port numbers, any address.
    private var protocolBits: [UInt64]
    private var protocolCounters = [ProtocolCounters](repeating: ProtocolCounters(), count: 2)

    /// Local addresses; `sources[i]` belongs to `sourceTable.keys[i]`.
    private var sourceTable = FlatTable<SourceKey>()
    private var sources: [SourceCounters] = []
    /// The sources' port bitmaps, `wordsPerBitmap` words each, allocated on first use.
    private var sourceBits: [UInt64] = []
    private var lastSource: (key: SourceKey, index: Int)?

    /// Destinations; `destinations[i]` belongs to `destinationTable.keys[i]`.
    private var destinationTable = FlatTable<DestinationKey>()
    private var destinations: [DestinationCounters] = []
    /// (destination index << 16 | port): the distinct ports of every destination.
    private var destinationPorts = FlatSet()
    /// Keys for `destinationPorts` not inserted yet. The set is the analysis's one large
    /// random-access table (an entry per connection), where each insert is a cache miss;
    /// inserted a batch at a time, the misses overlap (`FlatSet.insert(contentsOf:)`).
    private var pendingDestinationPorts: [UInt64] = []
    private static let destinationPortBatch = 256

    /// Connected UDP 4-tuples; `udpFirstSocket[i]` is the first socket seen on `udpTuples.keys[i]`.
    private var udpTuples = FlatTable<UDPTupleKey>()
    private var udpFirstSocket: [DuplicateSocket] = []
    /// Tuple index -> index in `duplicateGroups`, for tuples seen more than once.
    private var duplicateGroupOfTuple: [Int: Int] = [:]
    private var duplicateGroups: [(tuple: Int, sockets: [DuplicateSocket])] = []

    /// Owners; `owners[i]` belongs to `ownerTable.keys[i]`.
    private var ownerTable = FlatTable<OwnerKey>()
    private var owners: [OwnerCounters] = []
    /// The owners' port bitmaps, `wordsPerBitmap` words each, allocated on first use.
    private var ownerBits: [UInt64] = []
    private var lastOwner: (key: OwnerKey, index: Int)?

    private struct ProtocolCounters: Sendable {
        var portsUsed = 0
        var boundPorts = 0
    }

    private struct SourceCounters: Sendable {
        var usedBitmap = -1     // offset into sourceBits, -1 before the first port
        var boundBitmap = -1
        var portsUsed = 0
        var sockets = 0
        var boundPorts = 0
        var destinations = 0
    }

    private struct DestinationCounters: Sendable {
        var portsUsed: Int32 = 0
        var sockets: Int32 = 0
    }

    private struct OwnerCounters: Sendable {
        var bitmap = -1         // offset into ownerBits
        var portsUsed = 0
        var sockets = 0
    }

    public init(range: EphemeralRange, options: AnalysisOptions = AnalysisOptions()) {
        self.range = range
        self.options = options
        wordsPerBitmap = (Int(range.high) - Int(range.low) + 1 + 63) / 64
        stateCounts = [Int](repeating: 0, count: 2 * 2 * 256)
        // tcp used, tcp bound, udp used, udp bound.
        protocolBits = [UInt64](repeating: 0, count: 4 * wordsPerBitmap)
    }

    /// Forgets every record added so far (a dump restarted), keeping allocated memory.
    public mutating func reset() {
        recordCount = 0
        for i in stateCounts.indices { stateCounts[i] = 0 }
        for i in protocolBits.indices { protocolBits[i] = 0 }
        for i in protocolCounters.indices { protocolCounters[i] = ProtocolCounters() }
        sourceTable.removeAll()
        sources.removeAll(keepingCapacity: true)
        sourceBits.removeAll(keepingCapacity: true)
        lastSource = nil
        destinationTable.removeAll()
        destinations.removeAll(keepingCapacity: true)
        destinationPorts.removeAll()
        pendingDestinationPorts.removeAll(keepingCapacity: true)
        udpTuples.removeAll()
        udpFirstSocket.removeAll(keepingCapacity: true)
        duplicateGroupOfTuple.removeAll()
        duplicateGroups.removeAll()
        ownerTable.removeAll()
        owners.removeAll(keepingCapacity: true)
        ownerBits.removeAll(keepingCapacity: true)
        lastOwner = nil
    }

    /// Counts one socket.
    public mutating func add(_ record: SocketRecord) {
        recordCount += 1
        let protoIndex = record.proto == .tcp ? 0 : 1
        stateCounts[Self.stateSlot(protoIndex, record.family, record.state)] += 1

        let source = sourceIndex(SourceKey(proto: record.proto, address: record.local.address))
        let port = record.local.port
        let hasPeer = record.hasPeer

        if range.isEphemeral(port) {
            let bit = Int(port &- range.low)
            let wordInBitmap = bit >> 6
            let mask = UInt64(1) << UInt64(bit & 63)

            // Port numbers of the protocol, any address.
            let protocolUsedWord = (2 * protoIndex) * wordsPerBitmap + wordInBitmap
            if protocolBits[protocolUsedWord] & mask == 0 {
                protocolBits[protocolUsedWord] |= mask
                protocolCounters[protoIndex].portsUsed += 1
            }
            if !hasPeer {
                let protocolBoundWord = protocolUsedWord + wordsPerBitmap
                if protocolBits[protocolBoundWord] & mask == 0 {
                    protocolBits[protocolBoundWord] |= mask
                    protocolCounters[protoIndex].boundPorts += 1
                }
            }

            // The local address.
            var counters = sources[source]
            counters.sockets += 1
            if counters.usedBitmap < 0 { counters.usedBitmap = allocateBitmap() }
            let usedWord = counters.usedBitmap + wordInBitmap
            if sourceBits[usedWord] & mask == 0 {
                sourceBits[usedWord] |= mask
                counters.portsUsed += 1
            }
            if !hasPeer {
                if counters.boundBitmap < 0 { counters.boundBitmap = allocateBitmap() }
                let boundWord = counters.boundBitmap + wordInBitmap
                if sourceBits[boundWord] & mask == 0 {
                    sourceBits[boundWord] |= mask
                    counters.boundPorts += 1
                }
            }
            sources[source] = counters

            if hasPeer { addDestination(source: source, record: record) }
            addOwner(record: record, word: wordInBitmap, mask: mask)
        }

        if record.proto == .udp && record.state == .established {
            addConnectedUDP(source: source, record: record)
        }
    }

    // MARK: - Hot-path helpers

    /// Index into `stateCounts`: proto (0 tcp, 1 udp), family (0 ipv4, 1 ipv6), raw state.
    @inline(__always)
    private static func stateSlot(_ protoIndex: Int, _ family: AddressFamily, _ state: SocketState) -> Int {
        (protoIndex * 2 + (family == .ipv4 ? 0 : 1)) * 256 + Int(state.rawValue)
    }

    @inline(__always)
    private mutating func sourceIndex(_ key: SourceKey) -> Int {
        if let last = lastSource, last.key == key { return last.index }
        let (index, inserted) = sourceTable.findOrInsert(key)
        if inserted { sources.append(SourceCounters()) }
        lastSource = (key, index)
        return index
    }

    private mutating func allocateBitmap() -> Int {
        let offset = sourceBits.count
        sourceBits.append(contentsOf: repeatElement(0, count: wordsPerBitmap))
        return offset
    }

    private mutating func allocateOwnerBitmap() -> Int {
        let offset = ownerBits.count
        ownerBits.append(contentsOf: repeatElement(0, count: wordsPerBitmap))
        return offset
    }

    @inline(__always)
    private mutating func addDestination(source: Int, record: SocketRecord) {
        let key = DestinationKey(
            source: UInt32(truncatingIfNeeded: source), remotePort: record.remote.port,
            remoteHigh: record.remote.address.high, remoteLow: record.remote.address.low)
        let (destination, inserted) = destinationTable.findOrInsert(key)
        if inserted {
            destinations.append(DestinationCounters())
            sources[source].destinations += 1
        }
        destinations[destination].sockets += 1
        pendingDestinationPorts.append(UInt64(destination) << 16 | UInt64(record.local.port))
        if pendingDestinationPorts.count == Self.destinationPortBatch { insertPendingDestinationPorts() }
    }

    /// Counts the distinct ports among the pending (destination, port) keys.
    private mutating func insertPendingDestinationPorts() {
        destinationPorts.insert(contentsOf: pendingDestinationPorts) { key in
            destinations[Int(truncatingIfNeeded: key >> 16)].portsUsed += 1
        }
        pendingDestinationPorts.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private mutating func addOwner(record: SocketRecord, word: Int, mask: UInt64) {
        // TIME_WAIT and request sockets come with uid 0, no inode and no cgroup: no owner.
        let ownerless = record.inode == 0 && record.uid == 0 && record.cgroupID == nil
        let key = OwnerKey(proto: record.proto, uid: ownerless ? nil : record.uid,
                           cgroupID: record.cgroupID)
        let owner: Int
        if let last = lastOwner, last.key == key {
            owner = last.index
        } else {
            let (index, inserted) = ownerTable.findOrInsert(key)
            if inserted { owners.append(OwnerCounters()) }
            lastOwner = (key, index)
            owner = index
        }
        owners[owner].sockets += 1
        if owners[owner].bitmap < 0 { owners[owner].bitmap = allocateOwnerBitmap() }
        let ownerWord = owners[owner].bitmap + word
        if ownerBits[ownerWord] & mask == 0 {
            ownerBits[ownerWord] |= mask
            owners[owner].portsUsed += 1
        }
    }

    private mutating func addConnectedUDP(source: Int, record: SocketRecord) {
        let key = UDPTupleKey(
            source: UInt32(truncatingIfNeeded: source), localPort: record.local.port,
            remotePort: record.remote.port,
            remoteHigh: record.remote.address.high, remoteLow: record.remote.address.low)
        let socket = DuplicateSocket(uid: record.uid, inode: record.inode, cookie: record.cookie,
                                     interfaceIndex: record.interfaceIndex)
        let (tuple, inserted) = udpTuples.findOrInsert(key)
        if inserted {
            udpFirstSocket.append(socket)
            return
        }
        if let group = duplicateGroupOfTuple[tuple] {
            duplicateGroups[group].sockets.append(socket)
        } else {
            duplicateGroupOfTuple[tuple] = duplicateGroups.count
            duplicateGroups.append((tuple, [udpFirstSocket[tuple], socket]))
        }
    }

    // MARK: - Snapshot

    /// The facts of every record added since the start or the last `reset()`. The records
    /// stay counted: adding more records and finishing again is allowed.
    public mutating func finish() -> Snapshot {
        insertPendingDestinationPorts()
        return Snapshot(
            range: range, options: options, recordCount: recordCount,
            sockets: socketCounts(),
            protocols: TransportProtocol.allCases.map { proto in
                let i = proto == .tcp ? 0 : 1
                return ProtocolUsage(proto: proto, portsUsed: protocolCounters[i].portsUsed,
                                     boundPorts: protocolCounters[i].boundPorts)
            },
            sources: sourceUsages(),
            topDestinations: topDestinationsOverall(),
            destinationCount: destinationTable.count,
            udpDuplicates: topDuplicates(),
            udpDuplicateTotals: duplicateTotals(),
            owners: topOwners(),
            ownerCount: ownerTable.count
        )
    }

    private func socketCounts() -> [SocketCount] {
        var out: [SocketCount] = []
        for proto in TransportProtocol.allCases {
            let protoIndex = proto == .tcp ? 0 : 1
            let names = proto == .tcp ? SocketState.tcpStateNames : SocketState.udpStateNames
            for family in AddressFamily.allCases {
                var byName = [String: Int](minimumCapacity: names.count + 1)
                for raw in 0...255 {
                    let n = stateCounts[Self.stateSlot(protoIndex, family, SocketState(rawValue: UInt8(raw)))]
                    if n != 0 { byName[SocketState(rawValue: UInt8(raw)).name(for: proto), default: 0] += n }
                }
                for name in names {
                    out.append(SocketCount(proto: proto, family: family, state: name, count: byName[name] ?? 0))
                }
                if let unknown = byName["unknown"] {
                    out.append(SocketCount(proto: proto, family: family, state: "unknown", count: unknown))
                }
            }
        }
        return out
    }

    private func destinationUsage(_ index: Int) -> DestinationUsage {
        let key = destinationTable.keys[index]
        let source = sourceTable.keys[Int(key.source)]
        let remote = source.address.family == .ipv4
            ? IPAddress(ipv4: UInt32(truncatingIfNeeded: key.remoteLow))
            : IPAddress(ipv6High: key.remoteHigh, low: key.remoteLow)
        return DestinationUsage(
            proto: source.proto, family: source.address.family, localAddress: source.address,
            remoteAddress: remote, remotePort: key.remotePort,
            portsUsed: Int(destinations[index].portsUsed), sockets: Int(destinations[index].sockets))
    }

    /// Destination indexes ranked: more ports first, then more sockets, then by key.
    private func destinationRanksBefore(_ a: Int, _ b: Int) -> Bool {
        let ca = destinations[a], cb = destinations[b]
        if ca.portsUsed != cb.portsUsed { return ca.portsUsed > cb.portsUsed }
        if ca.sockets != cb.sockets { return ca.sockets > cb.sockets }
        let ka = destinationTable.keys[a], kb = destinationTable.keys[b]
        if ka.source != kb.source {
            let sa = sourceTable.keys[Int(ka.source)], sb = sourceTable.keys[Int(kb.source)]
            return (sa.proto, sa.address) < (sb.proto, sb.address)
        }
        return (ka.remoteHigh, ka.remoteLow, ka.remotePort) < (kb.remoteHigh, kb.remoteLow, kb.remotePort)
    }

    private func sourceUsages() -> [SourceUsage] {
        // Destinations grouped by source (a counting sort), to rank each group.
        let k = options.topDestinationsPerSource
        var groupStart = [Int](repeating: 0, count: sourceTable.count + 1)
        var grouped: [Int] = []
        if k > 0 {
            for key in destinationTable.keys { groupStart[Int(key.source) + 1] += 1 }
            for i in 0..<sourceTable.count { groupStart[i + 1] += groupStart[i] }
            grouped = [Int](repeating: 0, count: destinationTable.count)
            var next = groupStart
            for (index, key) in destinationTable.keys.enumerated() {
                grouped[next[Int(key.source)]] = index
                next[Int(key.source)] += 1
            }
        }
        var maxDestinationPorts = [Int](repeating: 0, count: sourceTable.count)
        for (index, key) in destinationTable.keys.enumerated() {
            let source = Int(key.source)
            maxDestinationPorts[source] = max(maxDestinationPorts[source], Int(destinations[index].portsUsed))
        }
        var out: [SourceUsage] = []
        out.reserveCapacity(sourceTable.count)
        for (index, key) in sourceTable.keys.enumerated() {
            let top = k > 0
                ? topK(grouped[groupStart[index]..<groupStart[index + 1]], k, by: destinationRanksBefore).map(destinationUsage)
                : []
            let counters = sources[index]
            out.append(SourceUsage(
                proto: key.proto, family: key.address.family, localAddress: key.address,
                portsUsed: counters.portsUsed, sockets: counters.sockets,
                boundPorts: counters.boundPorts, destinationCount: counters.destinations,
                maxDestinationPortsUsed: maxDestinationPorts[index], topDestinations: top))
        }
        out.sort { ($0.proto, $0.localAddress) < ($1.proto, $1.localAddress) }
        return out
    }

    private func topDestinationsOverall() -> [DestinationUsage] {
        topK(0..<destinationTable.count, options.topDestinations, by: destinationRanksBefore).map(destinationUsage)
    }

    private func tuple(_ index: Int) -> FourTuple {
        let key = udpTuples.keys[index]
        let address = sourceTable.keys[Int(key.source)].address
        let remote = address.family == .ipv4
            ? IPAddress(ipv4: UInt32(truncatingIfNeeded: key.remoteLow))
            : IPAddress(ipv6High: key.remoteHigh, low: key.remoteLow)
        return FourTuple(local: SocketEndpoint(address: address, port: key.localPort),
                         remote: SocketEndpoint(address: remote, port: key.remotePort))
    }

    /// Duplicate groups ranked: more sockets first, then by tuple (IPv4 before IPv6).
    private func topDuplicates() -> [UDPDuplicate] {
        let ranked = topK(duplicateGroups.indices, options.topUDPDuplicates) { a, b in
            let sa = duplicateGroups[a].sockets.count, sb = duplicateGroups[b].sockets.count
            if sa != sb { return sa > sb }
            return tuple(duplicateGroups[a].tuple) < tuple(duplicateGroups[b].tuple)
        }
        return ranked.map { index in
            let t = tuple(duplicateGroups[index].tuple)
            return UDPDuplicate(family: t.local.address.family, local: t.local, remote: t.remote,
                                sockets: duplicateGroups[index].sockets)
        }
    }

    private func duplicateTotals() -> [UDPDuplicateTotals] {
        AddressFamily.allCases.map { family in
            var totals = UDPDuplicateTotals(family: family, tuples: 0, sockets: 0, overshadowedSockets: 0)
            for group in duplicateGroups {
                let key = udpTuples.keys[group.tuple]
                guard sourceTable.keys[Int(key.source)].address.family == family else { continue }
                totals.tuples += 1
                totals.sockets += group.sockets.count
                totals.overshadowedSockets += group.sockets.count - 1
            }
            return totals
        }
    }

    private func topOwners() -> [OwnerUsage] {
        let ranked = topK(0..<ownerTable.count, options.topOwners) { a, b in
            let ca = owners[a], cb = owners[b]
            if ca.portsUsed != cb.portsUsed { return ca.portsUsed > cb.portsUsed }
            if ca.sockets != cb.sockets { return ca.sockets > cb.sockets }
            let ka = ownerTable.keys[a], kb = ownerTable.keys[b]
            // Known owners before unknown ones, then by number.
            return (ka.proto, ka.uid.map { Int64($0) } ?? Int64.max, ka.cgroupID ?? UInt64.max)
                < (kb.proto, kb.uid.map { Int64($0) } ?? Int64.max, kb.cgroupID ?? UInt64.max)
        }
        return ranked.map { index in
            let key = ownerTable.keys[index]
            return OwnerUsage(proto: key.proto, uid: key.uid, cgroupID: key.cgroupID,
                              portsUsed: owners[index].portsUsed, sockets: owners[index].sockets)
        }
    }
}

/// The first `k` elements of `items` in `ranksBefore` order (a strict total order), in that
/// order: O(n log k) comparisons, keeping at most k elements.
func topK<S: Sequence>(_ items: S, _ k: Int, by ranksBefore: (S.Element, S.Element) -> Bool) -> [S.Element] {
    guard k > 0 else { return [] }
    var kept: [S.Element] = []
    kept.reserveCapacity(k)
    for item in items {
        if kept.count == k {
            guard ranksBefore(item, kept[k - 1]) else { continue }
            kept.removeLast()
        }
        // Binary search for the insertion point.
        var lo = 0, hi = kept.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranksBefore(kept[mid], item) { lo = mid + 1 } else { hi = mid }
        }
        kept.insert(item, at: lo)
    }
    return kept
}
