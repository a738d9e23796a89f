/// A configuration that cannot be used: where (file, line, probe, field) and why.
public struct ProbeConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, when the configuration came from one.
    public var file: String?
    /// 1-based line in the file, when known.
    public var line: Int?
    /// The probe's name, or `#N` (1-based position) for a probe without a usable name.
    public var probe: String?
    /// The field, as written in the file: `interval`, `send.hex`.
    public var field: String?
    public var message: String

    public init(file: String? = nil, line: Int? = nil, probe: String? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.probe = probe
        self.field = field
        self.message = message
    }

    /// `probes.yml:12: probe "dns", field interval: "15" is not a duration (write e.g. 15s, 500ms, 1m30s)`.
    public var description: String {
        var text = ""
        switch (file, line) {
        case let (file?, line?): text = "\(file):\(line): "
        case let (file?, nil): text = "\(file): "
        case let (nil, line?): text = "line \(line): "
        case (nil, nil): break
        }
        switch (probe, field) {
        case let (probe?, field?): text += "probe \(Self.quoted(probe)), field \(field): "
        case let (probe?, nil): text += "probe \(Self.quoted(probe)): "
        case let (nil, field?): text += "field \(field): "
        case (nil, nil): break
        }
        return text + message
    }

    /// A name in quotes; a position (`#3`) as it is.
    private static func quoted(_ probe: String) -> String {
        probe.hasPrefix("#") && probe.dropFirst().allSatisfy(\.isNumber) ? probe : probe.debugDescription
    }
}
