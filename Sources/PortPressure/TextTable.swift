/// ANSI SGR styles for the human report; used only when the output is a terminal.
enum TextStyle: String, Sendable {
    case bold = "1"
    case dim = "2"
    case red = "31"
    case green = "32"
    case yellow = "33"
    case boldRed = "1;31"

    func apply(_ text: String) -> String { "\u{1b}[\(rawValue)m\(text)\u{1b}[0m" }
}

/// A table of left- or right-aligned columns, padded on plain text so that color codes
/// never disturb the alignment.
struct TextTable {
    enum Alignment { case left, right }

    struct Cell {
        var text: String
        var style: TextStyle?
        init(_ text: String, _ style: TextStyle? = nil) {
            self.text = text
            self.style = style
        }
    }

    var headers: [String]
    var alignments: [Alignment]
    var rows: [[Cell]] = []

    init(_ columns: [(String, Alignment)]) {
        headers = columns.map(\.0)
        alignments = columns.map(\.1)
    }

    mutating func append(_ cells: [Cell]) {
        precondition(cells.count == headers.count, "TextTable: row has \(cells.count) cells, want \(headers.count)")
        rows.append(cells)
    }

    /// The lines, columns separated by two spaces, no trailing spaces.
    func render(color: Bool, indent: String = "") -> [String] {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.text.count) }
        }
        func line(_ cells: [Cell]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[i] - cell.text.count)
                let isLast = i == cells.count - 1
                var text = cell.text
                if color, let style = cell.style, !text.isEmpty { text = style.apply(text) }
                switch alignments[i] {
                case .left: parts.append(isLast ? text : text + padding)
                case .right: parts.append(padding + text)
                }
            }
            var joined = indent + parts.joined(separator: "  ")
            while joined.last == " " { joined.removeLast() }
            return joined
        }
        return [line(headers.map { Cell($0, .bold) })] + rows.map(line)
    }
}

/// Formatting shared by the human views.
enum ReportFormat {
    /// `used / limit` as a percentage with one decimal ("42.5%"); "-" when the limit is 0.
    static func percent(_ used: Int, of limit: Int) -> String {
        guard limit > 0 else { return "-" }
        let tenths = (used * 1000 + limit / 2) / limit
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// A bar like `[#####...............]`: `width` cells, filled in proportion (rounded up,
    /// so any use shows), capped at full.
    static func bar(_ used: Int, of limit: Int, width: Int) -> String {
        guard width > 0 else { return "" }
        let filled = limit > 0 ? min(width, (used * width + limit - 1) / limit) : 0
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    /// The color for a share of the limit: red from 90%, yellow from 70%, else green.
    static func style(_ used: Int, of limit: Int) -> TextStyle {
        guard limit > 0 else { return .red }
        if used * 10 >= limit * 9 { return .red }
        if used * 10 >= limit * 7 { return .yellow }
        return .green
    }
}
