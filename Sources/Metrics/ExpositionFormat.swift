/// The two exposition formats a scrape can ask for.
public enum ExpositionFormat: Sendable, Hashable, CaseIterable {
    /// Prometheus text format 0.0.4.
    case text
    /// OpenMetrics 1.0.0 text (ends with `# EOF`).
    case openMetrics

    /// The `Content-Type` of a response in this format, as Prometheus's client libraries send it.
    public var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Chooses the format for an `Accept` header the way Prometheus's client libraries do:
    /// media ranges are taken in order of preference (q-value, then as written); the first
    /// one that names a format this writer produces wins — `application/openmetrics-text`
    /// (version absent, 1.0.0 or 0.0.1) or `text/plain` (version absent or 0.0.4). Ranges with
    /// `q=0`, wildcards and anything else fall through; with no match (or no header) the
    /// answer is the text format.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .text }
        for range in MediaRange.parseAccept(accept) {
            let version = range.parameters["version"]
            if range.type == "application", range.subtype == "openmetrics-text",
               version == nil || version == "1.0.0" || version == "0.0.1" {
                return .openMetrics
            }
            if range.type == "text", range.subtype == "plain", version == nil || version == "0.0.4" {
                return .text
            }
        }
        return .text
    }
}

/// One media range of an `Accept` header (RFC 9110 §12.5.1).
struct MediaRange: Equatable {
    /// Lowercased.
    var type: String
    /// Lowercased.
    var subtype: String
    /// Parameter names lowercased, values unquoted; `q` is not among them.
    var parameters: [String: String]
    var quality: Double

    /// The acceptable ranges of `header` (q > 0), most preferred first; equal q-values keep
    /// their written order. Malformed elements are ignored.
    static func parseAccept(_ header: String) -> [MediaRange] {
        var ranges: [MediaRange] = []
        for element in header.split(separator: ",") {
            var parts = element.split(separator: ";").makeIterator()
            guard let mediaType = parts.next() else { continue }
            let typeParts = mediaType.trimmingHTTPWhitespace().lowercased().split(separator: "/", omittingEmptySubsequences: false)
            guard typeParts.count == 2, !typeParts[0].isEmpty, !typeParts[1].isEmpty else { continue }
            var range = MediaRange(type: String(typeParts[0]), subtype: String(typeParts[1]), parameters: [:], quality: 1)
            var valid = true
            while let parameter = parts.next() {
                guard let equals = parameter.firstIndex(of: "=") else { continue }
                let name = parameter[..<equals].trimmingHTTPWhitespace().lowercased()
                var value = parameter[parameter.index(after: equals)...].trimmingHTTPWhitespace()
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                    value = String(value.dropFirst().dropLast())
                }
                if name == "q" {
                    guard let q = Double(value), q >= 0, q <= 1 else { valid = false; break }
                    range.quality = q
                } else {
                    range.parameters[name] = value
                }
            }
            if valid, range.quality > 0 { ranges.append(range) }
        }
        // A stable sort: equal q-values keep the order the client wrote.
        return ranges.enumerated()
            .sorted { $0.element.quality != $1.element.quality ? $0.element.quality > $1.element.quality : $0.offset < $1.offset }
            .map(\.element)
    }
}

extension StringProtocol {
    /// Drops leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingHTTPWhitespace() -> String {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }), let last = lastIndex(where: { !isWhitespace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
