/// Durations as Prometheus writes them in its configuration: whole numbers with units, largest
/// first, each unit at most once: `15s`, `500ms`, `1m`, `1m30s`, `2h`.
///
/// Fractions (`1.5s`) and bare numbers (`15`) are refused: a bare number is ambiguous, and
/// Prometheus, Alertmanager and blackbox_exporter refuse both, so a config copied between them
/// means the same thing here.
public enum ProbeDuration {
    /// The units, largest first, with their length in milliseconds.
    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1),
    ]

    /// The longest duration accepted: a year (366 days).
    public static let maximum = Duration.milliseconds(maximumMilliseconds)
    private static let maximumMilliseconds: Int64 = 366 * 86_400_000

    /// Why `read` refused a text.
    public enum Failure: Error, Sendable, Hashable {
        /// Not whole numbers with units, largest first.
        case notADuration
        /// Well formed, but longer than `maximum` (or than any integer holds).
        case tooLarge
    }

    /// Parses `text`; nil when it is not a duration in this format or is over `maximum`.
    public static func parse(_ text: String) -> Duration? {
        try? read(text).get()
    }

    /// Parses `text`, saying why it cannot be used.
    public static func read(_ text: String) -> Result<Duration, Failure> {
        var bytes = Substring(text).utf8[...]
        guard !bytes.isEmpty else { return .failure(.notADuration) }
        var total: Int64 = 0
        var tooLarge = false
        var nextUnit = 0
        while !bytes.isEmpty {
            var number: Int64 = 0
            var digits = 0
            while let byte = bytes.first, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                // Overflow is remembered, not trapped: the text may still be malformed.
                let (tens, overflowed) = number.multipliedReportingOverflow(by: 10)
                let (sum, carried) = tens.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                if overflowed || carried { tooLarge = true } else { number = sum }
                digits += 1
                bytes = bytes.dropFirst()
            }
            guard digits > 0 else { return .failure(.notADuration) }
            // The longest suffix first, so `ms` is not read as `m` then `s`.
            guard let index = units.indices.dropFirst(nextUnit)
                .filter({ bytes.starts(with: units[$0].suffix.utf8) })
                .max(by: { units[$0].suffix.utf8.count < units[$1].suffix.utf8.count })
            else { return .failure(.notADuration) }
            bytes = bytes.dropFirst(units[index].suffix.utf8.count)
            let (product, overflowed) = number.multipliedReportingOverflow(by: units[index].milliseconds)
            let (sum, carried) = total.addingReportingOverflow(product)
            if overflowed || carried || sum > maximumMilliseconds { tooLarge = true } else { total = sum }
            nextUnit = index + 1
        }
        return tooLarge ? .failure(.tooLarge) : .success(.milliseconds(total))
    }

    /// `15s`, `1m30s`, `500ms`, `0s`: the shortest text `parse` reads back as `duration`
    /// (rounded down to whole milliseconds).
    public static func format(_ duration: Duration) -> String {
        var remaining = milliseconds(duration)
        guard remaining > 0 else { return "0s" }
        var text = ""
        for unit in units where remaining >= unit.milliseconds {
            text += "\(remaining / unit.milliseconds)\(unit.suffix)"
            remaining %= unit.milliseconds
        }
        return text
    }

    /// Whole milliseconds of `duration`, rounded down.
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    /// `duration` in seconds, for metrics.
    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
