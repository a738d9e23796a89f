/// A key for `FlatTable`: a small plain value with a cheap, well-mixed hash.
protocol FlatKey: Equatable {
    var flatHash: UInt64 { get }
}

/// Mixes a 64-bit value (the finalizer of splitmix64): cheap, and good enough for
/// linear probing on keys that differ in a few low bits (ports, indexes).
@inline(__always)
func mix64(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9e37_79b9_7f4a_7c15
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}

extension UInt64: FlatKey {
    @inline(__always) var flatHash: UInt64 { mix64(self) }
}

/// An insert-only open-addressing hash table that numbers its keys 0, 1, 2, … in insertion
/// order, so callers keep per-key values in parallel arrays indexed by that number.
///
/// Why not `Dictionary`: the analysis does several lookups per socket for 10^5–10^6 sockets;
/// a flat table with a cheap hash and no per-insert allocation (only amortized growth of two
/// arrays) is several times faster than `Hasher`-based dictionaries on these small keys.
/// Slots hold `(hash high 32 bits) << 32 | (index + 1)`, so most probes settle on the slot
/// word without touching the key array; 0 is an empty slot.
struct FlatTable<Key: FlatKey> {
    private(set) var keys: [Key] = []
    private var slots: [UInt64] = []
    private var mask: Int = -1

    var count: Int { keys.count }

    init() {}

    /// The index of `key`, inserting it with the next index when absent.
    @inline(__always)
    mutating func findOrInsert(_ key: Key) -> (index: Int, inserted: Bool) {
        if keys.count * 4 >= slots.count * 3 { grow() }
        let hash = key.flatHash
        let tag = hash >> 32
        var position = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[position]
            if slot == 0 {
                let index = keys.count
                keys.append(key)
                slots[position] = tag << 32 | UInt64(index + 1)
                return (index, true)
            }
            if slot >> 32 == tag {
                let index = Int(truncatingIfNeeded: slot & 0xffff_ffff) - 1
                if keys[index] == key { return (index, false) }
            }
            position = (position + 1) & mask
        }
    }

    /// The index of `key`, or nil.
    func find(_ key: Key) -> Int? {
        guard !slots.isEmpty else { return nil }
        let hash = key.flatHash
        let tag = hash >> 32
        var position = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[position]
            if slot == 0 { return nil }
            if slot >> 32 == tag {
                let index = Int(truncatingIfNeeded: slot & 0xffff_ffff) - 1
                if keys[index] == key { return index }
            }
            position = (position + 1) & mask
        }
    }

    /// Empties the table, keeping its memory for the next pass.
    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }

    private mutating func grow() {
        let capacity = max(16, slots.count * 2)
        slots = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
        for (index, key) in keys.enumerated() {
            let hash = key.flatHash
            var position = Int(truncatingIfNeeded: hash) & mask
            while slots[position] != 0 { position = (position + 1) & mask }
            slots[position] = (hash >> 32) << 32 | UInt64(index + 1)
        }
    }
}

extension FlatTable: Sendable where Key: Sendable {}

/// An insert-only open-addressing set of `UInt64` keys stored in the slots themselves, so a
/// probe touches one cache line: the analyzer's (key index, port) sets, which hold one entry
/// per socket and dominate its memory and time on large hosts. `UInt64.max` marks an empty
/// slot and cannot be inserted.
struct FlatSet: Sendable {
    private var slots: [UInt64] = []
    /// Scratch for `insert(contentsOf:inserted:)`, kept to reuse its memory.
    private var homeSlots: [UInt64] = []
    private var mask: Int = -1
    private(set) var count = 0

    init() {}

    /// Inserts `key`; true when it was absent.
    @inline(__always)
    mutating func insert(_ key: UInt64) -> Bool {
        assert(key != .max)
        if count * 4 >= slots.count * 3 { grow() }
        var position = Int(truncatingIfNeeded: mix64(key)) & mask
        while true {
            let slot = slots[position]
            if slot == key { return false }
            if slot == .max {
                slots[position] = key
                count += 1
                return true
            }
            position = (position + 1) & mask
        }
    }

    /// Inserts every key of `keys` in order, calling `inserted` with each one that was absent.
    ///
    /// The same as `insert` one key at a time, but quicker on a set much larger than the CPU
    /// cache, where each insert is a cache miss: the keys' home slots are read first, in a loop
    /// whose loads do not depend on one another, so the CPU overlaps their misses; inserting
    /// then finds the slots in cache, and a key already in its home slot is known present.
    mutating func insert(contentsOf keys: [UInt64], inserted: (UInt64) -> Void) {
        // Growing in between would move the slots that were read.
        while (count + keys.count) * 4 >= slots.count * 3 { grow() }
        homeSlots.removeAll(keepingCapacity: true)
        let mask = self.mask
        slots.withUnsafeBufferPointer { slots in
            for key in keys { homeSlots.append(slots[Int(truncatingIfNeeded: mix64(key)) & mask]) }
        }
        for (key, home) in zip(keys, homeSlots) where home != key && insert(key) {
            inserted(key)
        }
    }

    func contains(_ key: UInt64) -> Bool {
        guard !slots.isEmpty else { return false }
        var position = Int(truncatingIfNeeded: mix64(key)) & mask
        while true {
            let slot = slots[position]
            if slot == key { return true }
            if slot == .max { return false }
            position = (position + 1) & mask
        }
    }

    /// Empties the set, keeping its memory for the next pass.
    mutating func removeAll() {
        for i in slots.indices { slots[i] = .max }
        count = 0
    }

    private mutating func grow() {
        let old = slots
        let capacity = max(16, slots.count * 2)
        slots = [UInt64](repeating: .max, count: capacity)
        mask = capacity - 1
        for key in old where key != .max {
            var position = Int(truncatingIfNeeded: mix64(key)) & mask
            while slots[position] != .max { position = (position + 1) & mask }
            slots[position] = key
        }
    }
}
