@testable import Exporter
import Foundation
import Testing
import TestSupport

/// The exporter formats its log timestamps, `\u` escapes and percentages without Foundation
/// (issue 15: `serve` links no Foundation); these pin the bytes to what Foundation gave.
@Suite struct FoundationParityTests {
    @Test func timestampIsFoundationsISO8601WithMilliseconds() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SplitMix64(state: 15)
        // The epoch, a leap day, the last millisecond of a year (rounding up carries into the
        // next), past 2038, then random instants; each a quarter of a millisecond either side
        // of a whole one, far from the rounding boundary a Double could blur.
        var instants = [(0, 0), (951_782_400, 17), (1_735_689_599, 999), (4_102_444_800, 500)]
        for _ in 0..<200 {
            instants.append((Int.random(in: 0..<4_102_444_800, using: &generator), Int.random(in: 0..<1000, using: &generator)))
        }
        for (second, millisecond) in instants {
            for quarters in [1, 3] {
                let time = timespec(tv_sec: second, tv_nsec: millisecond * 1_000_000 + quarters * 250_000)
                let date = Date(timeIntervalSince1970: Double(second) + (Double(millisecond) + Double(quarters) / 4) / 1000)
                #expect(StructuredLogHandler.timestamp(time) == formatter.string(from: date), "at \(second).\(millisecond) + \(quarters)/4 ms")
            }
        }
    }

    @Test func controlCharactersEscapeAsFoundationFormattedThem() {
        for value in UInt32(0)..<0x20 where ![0x0a, 0x0d, 0x09].contains(value) {
            let escaped = StructuredLogHandler.jsonString(String(UnicodeScalar(UInt8(value))))
            #expect(escaped == "\"" + String(format: "\\u%04x", value) + "\"")
        }
    }

    @Test func percentagesRoundAsStringFormat() {
        // Exact halves (round half to even in binary), values just off them, and random ratios of ports.
        var values: [Double] = [0, 0.05, 0.15, 0.25, 0.35, 12.25, 99.95, 99.99, 100, 1e-9, 33.349999999]
        var generator = SplitMix64(state: 1515)
        for _ in 0..<2000 {
            let limit = Int.random(in: 1...65_535, using: &generator)
            values.append(Double(Int.random(in: 0...limit, using: &generator)) * 100 / Double(limit))
        }
        for value in values {
            #expect(printfFormat("%.1f%%", value) == String(format: "%.1f%%", value), "\(value)")
        }
    }

    @Test func outputLongerThanTheFirstBufferIsWhole() {
        #expect(printfFormat("%0300d", Int32(5)) == String(repeating: "0", count: 299) + "5")
    }
}
