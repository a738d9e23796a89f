import Testing
import TestSupport
@testable import PortPressure

@Suite struct FlatSetTests {
    /// A batch insert reports exactly the keys one-at-a-time inserts report, in order: keys
    /// repeated within a batch, keys of earlier batches, and batches that make the set grow.
    @Test(arguments: [1, 7, 256, 5_000])
    func batchInsertAgreesWithSingleInserts(batch: Int) {
        var random = SplitMix64(state: UInt64(batch))
        // Few distinct keys, so that most inserts find their key already there.
        let keys = (0..<20_000).map { _ in UInt64.random(in: 0..<3_000, using: &random) << 16 | UInt64.random(in: 0..<8, using: &random) }

        var single = FlatSet()
        let expected = keys.filter { single.insert($0) }

        var batched = FlatSet()
        var reported: [UInt64] = []
        var start = 0
        while start < keys.count {
            let end = min(start + batch, keys.count)
            batched.insert(contentsOf: Array(keys[start..<end])) { reported.append($0) }
            start = end
        }
        #expect(reported == expected)
        #expect(batched.count == single.count)
        #expect(keys.allSatisfy { batched.contains($0) })
        #expect(!batched.contains(UInt64(3_000) << 16))
    }
}
