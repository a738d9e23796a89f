/// The type of a metric family, as declared on its `# TYPE` line.
public enum MetricType: Sendable, Hashable {
    case gauge
    case counter
    /// `untyped` in the text format, `unknown` in OpenMetrics.
    case untyped
}

/// One metric family, built afresh for each scrape: a name, its help text and type, the
/// names of its labels, and its samples in the order they were appended.
///
/// Samples are stored flat (one array of label values with a stride of `labelNames.count`,
/// one array of values), so appending a sample allocates nothing beyond amortized growth.
///
/// For a counter, `name` may carry the `_total` suffix or not: the text format prints samples
/// under `name` as given, OpenMetrics names the family `<base>` and its samples `<base>_total`.
public struct MetricFamily: Sendable {
    public let name: String
    public let help: String
    public let type: MetricType
    public let labelNames: [String]
    @usableFromInline var labelValueStorage: [String] = []
    @usableFromInline var valueStorage: [Double] = []

    /// - Precondition: `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`; every label name matches
    ///   `[a-zA-Z_][a-zA-Z0-9_]*`, does not start with `__`, and appears once.
    public init(name: String, help: String, type: MetricType, labelNames: [String] = []) {
        precondition(MetricName.isValidMetricName(name), "invalid metric name \(name.debugDescription)")
        for label in labelNames {
            precondition(MetricName.isValidLabelName(label), "invalid label name \(label.debugDescription) in \(name)")
        }
        precondition(Set(labelNames).count == labelNames.count, "duplicate label name in \(name)")
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labelNames
    }

    /// A family holding one unlabelled sample.
    public init(name: String, help: String, type: MetricType, value: Double) {
        self.init(name: name, help: help, type: type)
        append(value, labelValues: [])
    }

    /// Appends a sample; `labelValues` pairs with `labelNames` by position.
    /// - Precondition: `labelValues.count == labelNames.count`.
    @inlinable
    public mutating func append(_ value: Double, labelValues: [String]) {
        precondition(labelValues.count == labelNames.count,
                     "\(name): \(labelValues.count) label values for \(labelNames.count) label names")
        labelValueStorage.append(contentsOf: labelValues)
        valueStorage.append(value)
    }

    /// Appends a sample with its label values inline (none for a family without labels).
    @inlinable
    public mutating func append(_ value: Double, _ labelValues: String...) {
        append(value, labelValues: labelValues)
    }

    /// Reserves room for `count` samples.
    public mutating func reserveCapacity(_ count: Int) {
        valueStorage.reserveCapacity(count)
        labelValueStorage.reserveCapacity(count * labelNames.count)
    }

    /// The number of samples.
    public var count: Int { valueStorage.count }

    /// The value of sample `index`.
    public func value(at index: Int) -> Double { valueStorage[index] }

    /// The label values of sample `index`, in `labelNames` order.
    public func labelValues(at index: Int) -> ArraySlice<String> {
        let stride = labelNames.count
        return labelValueStorage[index * stride ..< (index + 1) * stride]
    }

    /// The value of the first sample whose labels include every pair of `labels`, or nil
    /// (a linear search, for tests and the landing page).
    public func value(where labels: [String: String]) -> Double? {
        var positions: [(Int, String)] = []
        for (name, value) in labels {
            guard let position = labelNames.firstIndex(of: name) else { return nil }
            positions.append((position, value))
        }
        for i in 0..<count {
            let values = labelValues(at: i)
            if positions.allSatisfy({ values[values.startIndex + $0.0] == $0.1 }) { return valueStorage[i] }
        }
        return nil
    }
}

/// Name rules of the exposition formats.
public enum MetricName {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidMetricName(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            guard isLetter(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: ":") || (!first && isDigit(b)) else { return false }
            first = false
        }
        return !first
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for Prometheus itself).
    public static func isValidLabelName(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            guard isLetter(b) || b == UInt8(ascii: "_") || (!first && isDigit(b)) else { return false }
            first = false
        }
        return !first && !name.hasPrefix("__")
    }

    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
