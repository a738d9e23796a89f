/// The table `portpressure probe` prints: one row per probe, columns aligned.
///
/// ```
/// PROBE     RESULT  REASON        DURATION  LOCAL            DETAIL
/// resolver  ok      -             1.3ms     10.0.0.10:40001
/// web       FAILED  econnrefused  0.2ms     -                connect: ECONNREFUSED: the destination refused…
/// ```
public enum ProbeReport {
    public static func table(_ results: [ProbeResult]) -> String {
        let header = ["PROBE", "RESULT", "REASON", "DURATION", "LOCAL", "DETAIL"]
        let rows = results.map { result in
            [result.probe, result.succeeded ? "ok" : "FAILED", result.failure?.rawValue ?? "-",
             duration(result.duration), result.local?.description ?? "-", result.detail]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (column, cell) in cells.enumerated() {
                if column == cells.count - 1 {
                    text += cell  // the last column is not padded
                } else {
                    text += cell + String(repeating: " ", count: widths[column] - cell.count + 2)
                }
            }
            while text.last == " " { text.removeLast() }
            return text
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// `850µs`, `1.3ms`, `250ms`, `2.001s`: three significant figures at most.
    public static func duration(_ duration: Duration) -> String {
        let seconds = ProbeDuration.seconds(duration)
        func rounded(_ value: Double, _ unit: String) -> String {
            let digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
            var text = fixed(value, digits: digits)
            if text.contains(".") {
                while text.last == "0" { text.removeLast() }
                if text.last == "." { text.removeLast() }
            }
            return text + unit
        }
        if seconds < 0.001 { return rounded(seconds * 1e6, "µs") }
        if seconds < 1 { return rounded(seconds * 1e3, "ms") }
        return rounded(seconds, "s")
    }

    /// `value` with `digits` decimals, without Foundation.
    private static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        guard digits > 0 else { return "\(whole)" }
        let fractionText = "\(fraction)"
        return "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }
}
