import Foundation

/// A label matcher of a vector selector: `label op "value"`.
struct LabelMatcher: Equatable, CustomStringConvertible {
    var label: String
    var op: String  // =, !=, =~, !~
    var value: String

    var description: String { "\(label)\(op)\"\(value)\"" }
}

/// A vector selector of a PromQL expression: `metric{matchers}[range]`.
struct VectorSelector: Equatable, CustomStringConvertible {
    var metric: String?
    var matchers: [LabelMatcher]
    /// The text between `[` and `]` right after the selector, for a range vector.
    var range: String?
    /// The innermost function or aggregation whose parentheses enclose the selector.
    var function: String?

    func matcher(_ label: String) -> LabelMatcher? { matchers.first { $0.label == label } }

    var description: String {
        let braces = matchers.isEmpty && metric != nil ? "" : "{" + matchers.map(\.description).joined(separator: ", ") + "}"
        return (metric ?? "") + braces + (range.map { "[\($0)]" } ?? "")
    }
}

/// Finds the vector selectors of a PromQL expression, with the function each sits in.
///
/// Not a PromQL parser (promtool checks syntax): a scanner that knows enough of the grammar —
/// strings, numbers, label lists after `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`,
/// aggregations whose label list comes before the parenthesis, `offset` — to tell metric names
/// from everything else. Grafana variables may appear inside strings and `[...]` only.
enum PromQLSelectors {
    static let aggregations: Set<String> = [
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
        "bottomk", "topk", "quantile",
    ]
    static let labelListKeywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]
    static let otherKeywords: Set<String> = ["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"]

    static func selectors(in expression: String) throws -> [VectorSelector] {
        var scanner = Scanner(Array(expression.unicodeScalars))
        var found: [VectorSelector] = []
        var functions: [String?] = []       // one entry per open parenthesis
        var pendingFunction: String?        // an aggregation waiting for its `(` after `by (...)`

        while let c = scanner.peek() {
            if c.properties.isWhitespace { scanner.advance(); continue }
            if c == "\"" || c == "'" || c == "`" { _ = try scanner.string(); continue }
            if c.isDigit || (c == "." && scanner.peek(1)?.isDigit == true) { scanner.number(); continue }
            if c.isIdentifierStart {
                let word = scanner.identifier()
                let lower = word.lowercased()
                if labelListKeywords.contains(lower) {
                    scanner.skipWhitespace()
                    if scanner.peek() == "(" { try scanner.skipParenthesized() }
                    continue
                }
                if lower == "offset" {
                    scanner.skipWhitespace()
                    if scanner.peek() == "-" { scanner.advance() }
                    scanner.number()
                    continue
                }
                if otherKeywords.contains(lower) { continue }
                scanner.skipWhitespace()
                if scanner.peek() == "(" {
                    scanner.advance()
                    functions.append(word)
                    pendingFunction = nil
                    continue
                }
                if aggregations.contains(word) {
                    pendingFunction = word
                    continue
                }
                found.append(try selector(named: word, &scanner, enclosedBy: functions.last ?? nil))
                continue
            }
            switch c {
            case "{":
                found.append(try selector(named: nil, &scanner, enclosedBy: functions.last ?? nil))
            case "(":
                scanner.advance()
                functions.append(pendingFunction)
                pendingFunction = nil
            case ")":
                scanner.advance()
                guard !functions.isEmpty else { throw OpsTestError("unbalanced ')' in \(expression)") }
                functions.removeLast()
            case "[":
                _ = try scanner.bracketed()  // a subquery's range
            case "@":
                scanner.advance()
            case "+", "-", "*", "/", "%", "^", "=", "!", "<", ">", ",":
                scanner.advance()
            default:
                throw OpsTestError("unexpected '\(c)' in \(expression)")
            }
        }
        guard functions.isEmpty else { throw OpsTestError("unbalanced '(' in \(expression)") }
        return found
    }

    private static func selector(named metric: String?, _ scanner: inout Scanner, enclosedBy function: String?) throws -> VectorSelector {
        var matchers: [LabelMatcher] = []
        scanner.skipWhitespace()
        if scanner.peek() == "{" {
            scanner.advance()
            while true {
                scanner.skipWhitespace()
                if scanner.peek() == "}" { scanner.advance(); break }
                guard scanner.peek()?.isIdentifierStart == true else {
                    throw OpsTestError("expected a label name in the selector of \(metric ?? "{...}")")
                }
                let label = scanner.identifier()
                scanner.skipWhitespace()
                var op = ""
                while let c = scanner.peek(), "=!~".unicodeScalars.contains(c), op.count < 2 {
                    op.unicodeScalars.append(c)
                    scanner.advance()
                }
                guard ["=", "!=", "=~", "!~"].contains(op) else {
                    throw OpsTestError("bad matcher operator '\(op)' for \(label) in \(metric ?? "{...}")")
                }
                scanner.skipWhitespace()
                let value = try scanner.string()
                matchers.append(LabelMatcher(label: label, op: op, value: value))
                scanner.skipWhitespace()
                if scanner.peek() == "," { scanner.advance() }
            }
        }
        scanner.skipWhitespace()
        let range = scanner.peek() == "[" ? try scanner.bracketed() : nil
        return VectorSelector(metric: metric, matchers: matchers, range: range, function: function)
    }
}

private struct Scanner {
    let text: [Unicode.Scalar]
    var index = 0

    init(_ text: [Unicode.Scalar]) { self.text = text }

    func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < text.count ? text[index + offset] : nil
    }

    mutating func advance() { index += 1 }

    mutating func skipWhitespace() {
        while let c = peek(), c.properties.isWhitespace { advance() }
    }

    mutating func identifier() -> String {
        var word = ""
        while let c = peek(), c.isIdentifierStart || c.isDigit {
            word.unicodeScalars.append(c)
            advance()
        }
        return word
    }

    /// Numbers and durations: digits, letters, dots (`3600`, `0.75`, `1e3`, `5m`, `0x1f`).
    mutating func number() {
        while let c = peek(), c.isDigit || c.isIdentifierStart || c == "." { advance() }
    }

    /// A quoted string, returned without quotes; backslash escapes kept as written.
    mutating func string() throws -> String {
        guard let quote = peek(), quote == "\"" || quote == "'" || quote == "`" else {
            throw OpsTestError("expected a string at offset \(index)")
        }
        advance()
        var value = ""
        while let c = peek() {
            advance()
            if c == quote { return value }
            if c == "\\" && quote != "`", let next = peek() {
                value.unicodeScalars.append(c)
                value.unicodeScalars.append(next)
                advance()
                continue
            }
            value.unicodeScalars.append(c)
        }
        throw OpsTestError("unterminated string")
    }

    /// `[...]`, returned without brackets.
    mutating func bracketed() throws -> String {
        advance()
        var value = ""
        while let c = peek() {
            advance()
            if c == "]" { return value.trimmingCharacters(in: .whitespaces) }
            value.unicodeScalars.append(c)
        }
        throw OpsTestError("unterminated '['")
    }

    /// A parenthesized label list, skipped.
    mutating func skipParenthesized() throws {
        advance()
        while let c = peek() {
            advance()
            if c == ")" { return }
        }
        throw OpsTestError("unterminated label list")
    }
}

private extension Unicode.Scalar {
    var isDigit: Bool { ("0"..."9").contains(self) }
    var isIdentifierStart: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" || self == ":" }
}
