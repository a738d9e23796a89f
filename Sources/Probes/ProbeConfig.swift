import ConfigFile
import ConnectX
import SocketModel

/// The probes file, as YAML:
///
/// ```yaml
/// probes:
///   - name: resolver
///     protocol: udp
///     target: 10.0.0.53:53
///     source: 10.0.0.10          # optional: IP or IP:PORT
///     method: connectx           # or plain
///     interval: 15s
///     timeout: 2s
///     send: {hex: "abcd01000001000000000000076578616d706c6503636f6d0000010001"}
///     expect: {hex: "abcd81"}
///     netns: my-pod-netns         # optional: run inside this network namespace (ip netns NAME or a path)
///   - name: web
///     protocol: tcp
///     target: www.example.com:443
/// ```
///
/// Strict, as Prometheus's own configuration loading is: an unknown key, a duplicate key or
/// name, a bad duration, address or hex string is an error naming the probe and the field.
/// Bounded, so that a file cannot make the exporter slow or large (`Limits`).
public struct ProbeConfig: Sendable, Hashable {
    public var probes: [ProbeDefinition]

    public init(probes: [ProbeDefinition]) {
        self.probes = probes
    }

    static let topLevelKeys: Set = ["probes"]
    static let probeKeys: Set = ["name", "protocol", "target", "source", "method", "interval", "timeout", "send", "expect", "netns"]

    /// What a configuration may hold. Each probe costs a thread's share of work, its name
    /// is a label on every scrape and its payload is held in memory, so none is unbounded.
    public enum Limits {
        /// The file, in bytes.
        public static let fileBytes = 1 << 20
        public static let probes = 1_000
        /// `send` and `expect` after decoding, in bytes: the largest UDP payload over IPv4.
        public static let payloadBytes = 65_507
        /// Each single-value field as written, in UTF-8 bytes (a DNS name is at most 253).
        public static let fieldBytes: [String: Int] = [
            "name": 128, "protocol": 16, "target": 300, "source": 128, "method": 16, "interval": 32, "timeout": 32,
        ]
    }

    /// Parses a configuration; `file` only names it in errors.
    public static func parse(yaml: String, file: String? = nil) throws(ProbeConfigError) -> ProbeConfig {
        guard yaml.utf8.count <= Limits.fileBytes else {
            throw ProbeConfigError(file: file, message: "the configuration is \(yaml.utf8.count) bytes, more than the limit of \(Limits.fileBytes) bytes")
        }
        let root: YAMLNode?
        do { root = try ConfigFile.compose(yaml: yaml) } catch { throw ProbeConfigError(file: file, message: error.message) }
        guard let root else {
            throw ProbeConfigError(file: file, message: "the file is empty (write `probes: []` for no probes)")
        }
        var parser = Parser(file: file)
        return try parser.config(root)
    }
}

/// Walks the composed YAML, remembering where it is for error messages.
private struct Parser {
    let file: String?

    func error(_ node: YAMLNode?, probe: String? = nil, field: String? = nil, _ message: String) -> ProbeConfigError {
        ProbeConfigError(file: file, line: node?.mark.line, probe: probe, field: field, message: message)
    }

    mutating func config(_ root: YAMLNode) throws(ProbeConfigError) -> ProbeConfig {
        guard let mapping = root.mapping else {
            throw error(root, "the top level must be a mapping with the key `probes`")
        }
        for (key, _) in mapping {
            guard let name = key.string, ProbeConfig.topLevelKeys.contains(name) else {
                throw error(key, "unknown key \(key.string.map { $0.debugDescription } ?? "(not a string)") at the top level (known: probes)")
            }
        }
        guard let list = mapping["probes"] else { throw error(root, field: "probes", "missing") }
        if list.isNull { return ProbeConfig(probes: []) }
        guard let sequence = list.sequence else { throw error(list, field: "probes", "must be a list of probes") }
        guard sequence.count <= ProbeConfig.Limits.probes else {
            throw error(list, field: "probes", "\(sequence.count) probes, more than the limit of \(ProbeConfig.Limits.probes)")
        }
        var probes: [ProbeDefinition] = []
        var lines: [String: Int] = [:]
        for (index, node) in sequence.enumerated() {
            let probe = try definition(node, position: index + 1)
            if let first = lines[probe.name] {
                throw error(node, probe: probe.name, field: "name", "duplicate name (first used at line \(first))")
            }
            lines[probe.name] = node.mark.line
            probes.append(probe)
        }
        return ProbeConfig(probes: probes)
    }

    func definition(_ node: YAMLNode, position: Int) throws(ProbeConfigError) -> ProbeDefinition {
        guard let mapping = node.mapping else { throw error(node, probe: "#\(position)", "must be a mapping of fields") }
        // The name first, so every later message can say which probe it is about.
        var probe = "#\(position)"
        if let nameNode = mapping["name"], let name = nameNode.string, !name.isEmpty {
            try checkLength(name, of: "name", node: nameNode, probe: probe)
            guard name.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
                throw error(nameNode, probe: probe, field: "name", "must not contain control characters")
            }
            probe = name
        }
        for (key, _) in mapping {
            guard let field = key.string, ProbeConfig.probeKeys.contains(field) else {
                throw error(key, probe: probe, "unknown field \(key.string.map { $0.debugDescription } ?? "(not a string)") (known: \(ProbeConfig.probeKeys.sorted().joined(separator: ", ")))")
            }
        }
        func text(_ field: String, required: Bool) throws(ProbeConfigError) -> (String, YAMLNode)? {
            guard let value = mapping[field], !value.isNull else {
                if required { throw error(node, probe: probe, field: field, "missing") }
                return nil
            }
            guard let scalar = value.scalar else { throw error(value, probe: probe, field: field, "must be a single value, not a list or mapping") }
            try checkLength(scalar.string, of: field, node: value, probe: probe)
            return (scalar.string, value)
        }

        guard let (name, _) = try text("name", required: true), !name.isEmpty else {
            throw error(node, probe: probe, field: "name", "must not be empty")
        }
        let proto = try text("protocol", required: true)!.0
        let target = try text("target", required: true)!.0
        let source = try text("source", required: false)?.0
        let method = try text("method", required: false)?.0
        let interval = try text("interval", required: false)?.0
        let timeout = try text("timeout", required: false)?.0
        let netns = try text("netns", required: false)?.0
        let send = try payload(mapping["send"], probe: probe, field: "send")
        let expect = try payload(mapping["expect"], probe: probe, field: "expect")
        do {
            let definition = try ProbeDefinition(parsing: name, proto: proto, target: target, source: source, method: method,
                                                 interval: interval, timeout: timeout, send: send, expect: expect, netns: netns)
            try definition.validate()
            return definition
        } catch var invalid {
            invalid.file = file
            invalid.line = invalid.field.flatMap { mapping[$0]?.mark.line } ?? node.mark.line
            throw invalid
        }
    }

    /// A single-value field over its limit is refused without repeating its value.
    func checkLength(_ value: String, of field: String, node: YAMLNode, probe: String) throws(ProbeConfigError) {
        guard let limit = ProbeConfig.Limits.fieldBytes[field], value.utf8.count > limit else { return }
        throw error(node, probe: probe, field: field, "\(value.utf8.count) bytes long, more than the limit of \(limit) bytes")
    }

    /// `send`/`expect`: a string (sent as its UTF-8 bytes) or `{hex: "0a1b…"}`, at most
    /// `Limits.payloadBytes`.
    func payload(_ node: YAMLNode?, probe: String, field: String) throws(ProbeConfigError) -> [UInt8]? {
        guard let node, !node.isNull else { return nil }
        let bytes = try decodedPayload(node, probe: probe, field: field)
        guard bytes.count <= ProbeConfig.Limits.payloadBytes else {
            throw error(node, probe: probe, field: field, "\(bytes.count) bytes, more than the limit of \(ProbeConfig.Limits.payloadBytes) bytes")
        }
        return bytes
    }

    private func decodedPayload(_ node: YAMLNode, probe: String, field: String) throws(ProbeConfigError) -> [UInt8] {
        if let scalar = node.scalar { return Array(scalar.string.utf8) }
        guard let mapping = node.mapping else {
            throw error(node, probe: probe, field: field, "must be a string or {hex: \"…\"}")
        }
        guard mapping.count == 1, let (key, value) = mapping.first, key.string == "hex" else {
            let keys = mapping.keys.map { $0.string ?? "?" }.joined(separator: ", ")
            throw error(node, probe: probe, field: field, "must be a string or {hex: \"…\"}, not a mapping with \(keys)")
        }
        guard let hex = value.string else {
            throw error(value, probe: probe, field: "\(field).hex", "must be a string of hex digits")
        }
        switch Hex.decode(hex) {
        case .success(let bytes): return bytes
        case .failure(let problem): throw error(value, probe: probe, field: "\(field).hex", problem.message)
        }
    }
}

/// Hex strings: pairs of hex digits, optionally separated by whitespace (`ab cd 01`).
public enum Hex {
    public struct Problem: Error, Sendable, Hashable { public var message: String }

    public static func decode(_ text: String) -> Result<[UInt8], Problem> {
        var bytes: [UInt8] = []
        var high: UInt8?
        for (offset, character) in text.unicodeScalars.enumerated() {
            if character.properties.isWhitespace {
                guard high == nil else { return .failure(Problem(message: "a byte split by whitespace at character \(offset + 1)")) }
                continue
            }
            guard let nibble = character.isASCII ? digit(UInt8(character.value)) : nil else {
                return .failure(Problem(message: "\(String(character).debugDescription) at character \(offset + 1) is not a hex digit"))
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { return .failure(Problem(message: "an odd number of hex digits")) }
        return .success(bytes)
    }

    /// `abcd01`: lowercase, no separators.
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func digit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
