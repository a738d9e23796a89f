import Testing
@testable import ConnectX
import SocketModel
import TestSupport

@Suite struct PortChooserTests {
    let tiny = try! EphemeralRange.parse(portRange: "10 21", reservedPorts: "11,14-18,19")

    @Test func firstFreeSkipsReservedAndTakenAndWraps() {
        // Usable: 10 12 13 20 21.
        #expect(PortChooser.firstFree(in: tiny, from: 10, isTaken: { _ in false }) == 10)
        #expect(PortChooser.firstFree(in: tiny, from: 11, isTaken: { _ in false }) == 12)
        #expect(PortChooser.firstFree(in: tiny, from: 14, isTaken: { _ in false }) == 20)
        #expect(PortChooser.firstFree(in: tiny, from: 20, isTaken: { [20, 21].contains($0) }) == 10)
        #expect(PortChooser.firstFree(in: tiny, from: 21, isTaken: { [21, 10].contains($0) }) == 12)
    }

    @Test func firstFreeIsNilWhenEverythingIsTaken() {
        let taken = PortSet([10, 12, 13, 20, 21])
        for start in UInt16(0)...30 {
            #expect(PortChooser.firstFree(in: tiny, from: start, isTaken: taken.contains) == nil)
        }
        #expect(PortChooser.firstFree(in: tiny, from: 5, isTaken: PortSet([10, 12, 13, 20]).contains) == 21)
    }

    @Test func firstFreeFromOutsideTheRangeStartsAtLow() {
        #expect(PortChooser.firstFree(in: tiny, from: 9, isTaken: { _ in false }) == 10)
        #expect(PortChooser.firstFree(in: tiny, from: 60000, isTaken: { $0 == 10 }) == 12)
    }

    @Test func firstFreeOnAOnePortRange() {
        let one = EphemeralRange(low: 65535, high: 65535)
        #expect(PortChooser.firstFree(in: one, from: 65535, isTaken: { _ in false }) == 65535)
        #expect(PortChooser.firstFree(in: one, from: 3, isTaken: { $0 == 65535 }) == nil)
    }

    @Test func perSocketRangeNarrowsLikeTheKernel() {
        let namespace = EphemeralRange(low: 32768, high: 60999, reservedPorts: PortSet([40000]))
        let inside = PortChooser.effectiveRange(namespace: namespace, perSocket: 40000...40100)
        #expect((inside.low, inside.high) == (40000, 40100))
        #expect(inside.limit == 100)   // 40000 stays reserved
        // Each bound is used only when it lies inside the namespace's range.
        let lowOutside = PortChooser.effectiveRange(namespace: namespace, perSocket: 1000...40000)
        #expect((lowOutside.low, lowOutside.high) == (32768, 40000))
        let highOutside = PortChooser.effectiveRange(namespace: namespace, perSocket: 50000...65000)
        #expect((highOutside.low, highOutside.high) == (50000, 60999))
        let disjoint = PortChooser.effectiveRange(namespace: namespace, perSocket: 1000...2000)
        #expect((disjoint.low, disjoint.high) == (32768, 60999))
        #expect(PortChooser.effectiveRange(namespace: namespace, perSocket: nil) == namespace)
    }

    @Test func smallRangesAreWalkedWholeFromARandomStart() {
        var starts = Set<UInt16>()
        for seed in UInt64(1)...40 {
            var generator = SplitMix64(state: seed)
            var candidates = PortCandidates(range: tiny, budget: 64, using: &generator)
            #expect(candidates.isExhaustive)
            var seen: [UInt16] = []
            for _ in 0..<100 {
                guard let port = candidates.next(using: &generator) else { break }
                seen.append(port)
            }
            #expect(seen.sorted() == [10, 12, 13, 20, 21])
            // Wrap order: a rotation of the ascending list.
            let ascending: [UInt16] = [10, 12, 13, 20, 21]
            let rotation = ascending.firstIndex(of: seen[0])!
            #expect(seen == Array(ascending[rotation...] + ascending[..<rotation]))
            starts.insert(seen[0])
        }
        #expect(starts.count > 1)
    }

    @Test func largeRangesAreSampledDistinctWithinTheBudget() {
        let range = EphemeralRange(low: 1000, high: 28999, reservedPorts: PortSet(UInt16(2000)...UInt16(2999)))
        var generator = SplitMix64(state: 7)
        var candidates = PortCandidates(range: range, budget: 64, using: &generator)
        #expect(!candidates.isExhaustive)
        var seen: [UInt16] = []
        for _ in 0..<1000 {
            guard let port = candidates.next(using: &generator) else { break }
            seen.append(port)
        }
        #expect(seen.count == 64)
        #expect(Set(seen).count == 64)
        #expect(seen.allSatisfy(range.isEphemeral))
        // Spread over the range, not a walk: consecutive candidates are rarely neighbours.
        let neighbours = zip(seen, seen.dropFirst()).filter { $1 == $0 &+ 1 }.count
        #expect(neighbours < 4)
    }

    @Test func samplingFindsTheLastFreePortsOfADenseRange() {
        // 70 usable ports, budget 64: sampled; with reserved ports making draws miss often.
        let reserved = PortSet((UInt16(100)...UInt16(1000)).filter { $0 % 10 != 0 })
        let range = EphemeralRange(low: 100, high: 799, reservedPorts: reserved)
        #expect(range.limit == 70)
        var generator = SplitMix64(state: 3)
        var candidates = PortCandidates(range: range, budget: 64, using: &generator)
        var seen = Set<UInt16>()
        while let port = candidates.next(using: &generator) { seen.insert(port) }
        #expect(seen.count == 64)
        #expect(seen.allSatisfy { $0 % 10 == 0 })
    }
}
