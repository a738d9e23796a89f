/// Renders metric families into one byte buffer, in the Prometheus text format 0.0.4 or
/// OpenMetrics 1.0.0.
///
/// Each family gets `# HELP` (when its help is not empty) and `# TYPE`, then one line per
/// sample; no timestamps. A family without samples is left out, as Prometheus's client
/// libraries do. Label values and help text are escaped; values print as integers when they
/// are integral and below 2^63 in magnitude, else in the shortest form that reads back exactly, with
/// `+Inf`, `-Inf` and `NaN` for the special values.
///
/// The cost is linear in the output: each family's name and label prefixes are encoded once,
/// each sample is copied straight into the buffer, and label values are escaped only when
/// they contain a byte that needs it.
public struct ExpositionWriter: ~Copyable {
    public let format: ExpositionFormat
    private var out: OutputBuffer

    /// - Parameter capacity: bytes to reserve up front (the buffer grows as needed).
    public init(format: ExpositionFormat, capacity: Int = 16 * 1024) {
        self.format = format
        out = OutputBuffer(capacity: capacity)
    }

    /// A copy of the bytes written so far (without the OpenMetrics `# EOF` terminator).
    public var bytes: [UInt8] { out.bytes }

    /// The number of bytes written so far.
    public var count: Int { out.count }

    /// Appends one family.
    public mutating func write(_ family: MetricFamily) {
        guard family.count > 0 else { return }
        let familyName: Substring
        var sampleName = Array(family.name.utf8)
        let typeName: String
        switch (format, family.type) {
        case (.text, .gauge), (.openMetrics, .gauge): (familyName, typeName) = (family.name[...], "gauge")
        case (.text, .counter): (familyName, typeName) = (family.name[...], "counter")
        case (.text, .untyped): (familyName, typeName) = (family.name[...], "untyped")
        case (.openMetrics, .untyped): (familyName, typeName) = (family.name[...], "unknown")
        case (.openMetrics, .counter):
            // OpenMetrics names the family without the suffix and every sample with it.
            familyName = family.name.hasSuffix("_total") ? family.name.dropLast(6) : family.name[...]
            typeName = "counter"
            sampleName = Array(familyName.utf8) + Array("_total".utf8)
        }

        if !family.help.isEmpty {
            out.append("# HELP ")
            out.append(familyName)
            out.append(" ")
            out.appendEscaped(family.help, quote: format == .openMetrics)
            out.append("\n")
        }
        out.append("# TYPE ")
        out.append(familyName)
        out.append(" ")
        out.append(typeName)
        out.append("\n")

        // `{name="`, `,name="`, ... encoded once per family, back to back.
        var prefixes: [UInt8] = []
        var prefixEnds: [Int] = []
        for (index, name) in family.labelNames.enumerated() {
            prefixes.append(index == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
            prefixes += name.utf8
            prefixes += "=\"".utf8
            prefixEnds.append(prefixes.count)
        }
        let stride = prefixEnds.count
        // Name, closing brace, space, value (at most 24 bytes) and newline.
        let fixedBytes = sampleName.count + prefixes.count + stride + 32

        family.labelValueStorage.withUnsafeBufferPointer { labelValues in
            family.valueStorage.withUnsafeBufferPointer { values in
                prefixes.withUnsafeBufferPointer { prefixes in
                    prefixEnds.withUnsafeBufferPointer { prefixEnds in
                        sampleName.withUnsafeBufferPointer { sampleName in
                            for sample in 0..<values.count {
                                let first = sample * stride
                                var escapedBytes = 0
                                for label in 0..<stride { escapedBytes += 2 * labelValues[first + label].utf8.count }
                                out.reserve(fixedBytes + escapedBytes)
                                out.put(sampleName)
                                if stride > 0 {
                                    var prefixStart = 0
                                    for label in 0..<stride {
                                        out.put(UnsafeBufferPointer(rebasing: prefixes[prefixStart..<prefixEnds[label]]))
                                        prefixStart = prefixEnds[label]
                                        putEscapedLabelValue(labelValues[first + label])
                                        out.put(UInt8(ascii: "\""))
                                    }
                                    out.put(UInt8(ascii: "}"))
                                }
                                out.put(UInt8(ascii: " "))
                                putValue(values[sample])
                                out.put(UInt8(ascii: "\n"))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Appends every family of `families`.
    public mutating func write<S: Sequence>(contentsOf families: S) where S.Element == MetricFamily {
        for family in families { write(family) }
    }

    /// The finished exposition: the bytes written, plus `# EOF` for OpenMetrics.
    public consuming func finish() -> [UInt8] {
        if format == .openMetrics { out.append("# EOF\n") }
        return out.bytes
    }

    // MARK: Encoding (space reserved by the caller)

    @inline(__always)
    private mutating func putEscapedLabelValue(_ value: String) {
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { out.putEscaped($0, quote: true) }
        if done == nil {
            Array(value.utf8).withUnsafeBufferPointer { out.putEscaped($0, quote: true) }
        }
    }

    /// Integral values below 2^63 as integers; others in Swift's shortest round-trip form
    /// (at most 24 bytes, which Prometheus's parsers read back exactly).
    @inline(__always)
    private mutating func putValue(_ value: Double) {
        if value.isNaN {
            putASCII("NaN")
        } else if value.isInfinite {
            putASCII(value > 0 ? "+Inf" : "-Inf")
        } else if value.magnitude < 0x1p63, value == value.rounded(.towardZero) {
            out.putInteger(Int64(value))
        } else {
            var text = value.description
            text.withUTF8 { out.put($0) }
        }
    }

    @inline(__always)
    private mutating func putASCII(_ text: StaticString) {
        out.put(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

extension ExpositionFormat {
    /// Renders `families` in this format.
    public func render<S: Sequence>(_ families: S) -> [UInt8] where S.Element == MetricFamily {
        var writer = ExpositionWriter(format: self)
        writer.write(contentsOf: families)
        return writer.finish()
    }
}
