/// A scrape in the Prometheus text format (0.0.4) or OpenMetrics, parsed into samples and
/// the families' HELP and TYPE lines. Only what the tests need; strict about what it reads.
public struct Exposition {
    public struct Sample: Hashable, CustomStringConvertible {
        public var name: String
        public var labels: [String: String]
        public var value: Double
        public var description: String {
            "\(name){\(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ","))} \(value)"
        }
    }
    public struct Malformed: Error, CustomStringConvertible { public let description: String }

    public var samples: [Sample] = []
    public var help: [String: String] = [:]
    public var types: [String: String] = [:]
    /// True when the last line is `# EOF` (OpenMetrics).
    public var endsWithEOF = false

    public init(_ text: String) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (number, line) in lines.enumerated() {
            if line.isEmpty {
                guard number == lines.count - 1 else { throw Malformed(description: "empty line \(number + 1)") }
                continue
            }
            if line == "# EOF" {
                guard number >= lines.count - 2 else { throw Malformed(description: "# EOF before the end, line \(number + 1)") }
                endsWithEOF = true
                continue
            }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count == 4 else { throw Malformed(description: "bad comment line \(line)") }
                let name = String(parts[2])
                if parts[1] == "HELP" {
                    guard help[name] == nil else { throw Malformed(description: "two HELP lines for \(name)") }
                    help[name] = String(parts[3])
                } else {
                    guard types[name] == nil else { throw Malformed(description: "two TYPE lines for \(name)") }
                    types[name] = String(parts[3])
                }
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try Self.sample(line))
        }
    }

    /// `name{a="x",b="y"} value` (no timestamp expected).
    public static func sample(_ line: Substring) throws -> Sample {
        var labels: [String: String] = [:]
        let name: Substring
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            name = line[..<brace]
            var i = line.index(after: brace)
            while i < line.endIndex && line[i] != "}" {
                guard let equals = line[i...].firstIndex(of: "="), line.index(after: equals) < line.endIndex,
                      line[line.index(after: equals)] == "\"" else { throw Malformed(description: "bad label in \(line)") }
                let labelName = String(line[i..<equals])
                var j = line.index(equals, offsetBy: 2)
                var value = ""
                while j < line.endIndex && line[j] != "\"" {
                    if line[j] == "\\" {
                        j = line.index(after: j)
                        guard j < line.endIndex else { throw Malformed(description: "dangling escape in \(line)") }
                        switch line[j] {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: throw Malformed(description: "bad escape in \(line)")
                        }
                    } else {
                        value.append(line[j])
                    }
                    j = line.index(after: j)
                }
                guard j < line.endIndex else { throw Malformed(description: "unterminated label value in \(line)") }
                guard labels[labelName] == nil else { throw Malformed(description: "label \(labelName) twice in \(line)") }
                labels[labelName] = value
                i = line.index(after: j)
                if i < line.endIndex && line[i] == "," { i = line.index(after: i) }
            }
            guard i < line.endIndex else { throw Malformed(description: "no } in \(line)") }
            rest = line[line.index(after: i)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { throw Malformed(description: "no value in \(line)") }
            name = line[..<space]
            rest = line[space...]
        }
        let fields = rest.split(separator: " ")
        guard fields.count == 1 else { throw Malformed(description: "want exactly one value (no timestamp) in \(line)") }
        let value: Double
        switch fields[0] {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(fields[0]) else { throw Malformed(description: "bad value in \(line)") }
            value = v
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else {
            throw Malformed(description: "bad metric name in \(line)")
        }
        return Sample(name: String(name), labels: labels, value: value)
    }

    /// The samples of one metric name, by their label sets.
    public func series(_ name: String) -> [[String: String]: Double] {
        var out: [[String: String]: Double] = [:]
        for sample in samples where sample.name == name { out[sample.labels] = sample.value }
        return out
    }

    /// The one value of a metric with these labels, or nil.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// The value of a series written as in the exposition, `name{a="x",b="y"}` (labels in any
    /// order), or nil.
    public func value(series: String) throws -> Double? {
        let wanted = try Self.sample(Substring(series + " 0"))
        return value(wanted.name, wanted.labels)
    }

    /// The samples of namespace `netns` with their `netns` label removed, so that one
    /// namespace's figures compare with a model of that namespace. Every sample that has a
    /// `netns` label must carry `netns` (else this throws): the label names the namespace.
    public func scoped(to netns: String) throws -> Exposition {
        var scoped = self
        scoped.samples = try samples.map { sample in
            guard let label = sample.labels["netns"] else { return sample }
            guard label == netns else { throw Malformed(description: "\(sample) is not of namespace \(netns)") }
            var stripped = sample
            stripped.labels["netns"] = nil
            return stripped
        }
        return scoped
    }

    /// The samples of one namespace only (others dropped), `netns` label removed.
    public func namespace(_ netns: String) -> Exposition {
        var scoped = self
        scoped.samples = samples.compactMap { sample in
            guard sample.labels["netns"] == netns else { return nil }
            var stripped = sample
            stripped.labels["netns"] = nil
            return stripped
        }
        return scoped
    }
}
