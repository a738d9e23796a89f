import CYAML

/// Reading a YAML configuration file, once for every file the exporter reads (probes, web):
/// the text (ConfigFile+Read.swift), then the composed document, with errors in one line.
/// libyaml parses; this file composes its events into `YAMLNode`s. It needs libyaml only, so
/// the probes fuzz target (Fuzz/run.sh) compiles it alone.
public enum ConfigFile {
    /// Why a file could not be read or is not YAML; the caller adds the file's name.
    public struct Failure: Error, Sendable {
        public let message: String
    }

    /// Collections deeper than this are refused: a configuration needs a few levels, and a
    /// hostile file should not make the walk over it deep.
    public static let maximumDepth = 64

    /// The composed YAML document, nil for an empty one. One document only; aliases (`*name`)
    /// are refused (a configuration has no need of them, and they can make a small file
    /// expand without bound); duplicate keys in a mapping are refused, as Go's strict
    /// unmarshalling does.
    public static func compose(yaml: String) throws(Failure) -> YAMLNode? {
        // A NUL after the text, not passed to libyaml: a valid pointer even for an empty text.
        let bytes = Array(yaml.utf8) + [0]
        return try bytes.withUnsafeBufferPointer { (buffer) throws(Failure) -> YAMLNode? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { throw Failure(message: "not valid YAML: out of memory") }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count - 1)
            var composer = Composer()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { throw Failure(message: "not valid YAML: \(describe(parser))") }
                defer { yaml_event_delete(&event) }
                if try composer.take(event) { return composer.document }
            }
        }
    }

    /// libyaml's error in one line: the problem and where.
    private static func describe(_ parser: yaml_parser_t) -> String {
        guard var problem = parser.problem.map({ String(cString: $0) }) else { return "unknown error" }
        if parser.error == YAML_READER_ERROR {
            return "\(problem) at byte \(parser.problem_offset)"
        }
        // libyaml's own text for this one has an unbalanced parenthesis and names a C function.
        if problem.hasPrefix("Maximum nesting level reached") { problem = "nested too deeply" }
        return "\(problem) at \(position(mark(parser.problem_mark)))"
    }

    static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    static func position(_ mark: YAMLMark) -> String { "line \(mark.line), column \(mark.column)" }
}

/// Builds the document from libyaml's events, one at a time, with an explicit stack (no
/// recursion, whatever the nesting).
private struct Composer {
    private enum Open {
        case sequence(YAMLMark, [YAMLNode])
        case mapping(YAMLMark, [YAMLMapping.Pair], key: YAMLNode?, seen: Set<String>)
    }

    private var open: [Open] = []
    private var documents = 0
    private(set) var document: YAMLNode?

    /// Takes one event; true at the end of the stream.
    mutating func take(_ event: yaml_event_t) throws(ConfigFile.Failure) -> Bool {
        let mark = ConfigFile.mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 { throw failure("a second document at \(ConfigFile.position(mark)) (the file must hold one)") }
        case YAML_ALIAS_EVENT:
            throw failure("aliases (*name) are not supported, at \(ConfigFile.position(mark))")
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
            try add(YAMLNode(.scalar(YAMLScalar(text, isPlain: scalar.style == YAML_PLAIN_SCALAR_STYLE)), mark: mark))
        case YAML_SEQUENCE_START_EVENT:
            try push(.sequence(mark, []), at: mark)
        case YAML_MAPPING_START_EVENT:
            try push(.mapping(mark, [], key: nil, seen: []), at: mark)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let collection = open.popLast() else { throw failure("unbalanced end of a collection at \(ConfigFile.position(mark))") }
            switch collection {
            case let .sequence(start, items):
                try add(YAMLNode(.sequence(items), mark: start))
            case let .mapping(start, pairs, _, _):
                try add(YAMLNode(.mapping(YAMLMapping(pairs)), mark: start))
            }
        default:
            break  // stream and document starts and ends carry nothing a configuration reads
        }
        return false
    }

    private mutating func push(_ collection: Open, at mark: YAMLMark) throws(ConfigFile.Failure) {
        guard open.count < ConfigFile.maximumDepth else {
            throw failure("nested too deeply (more than \(ConfigFile.maximumDepth) levels) at \(ConfigFile.position(mark))")
        }
        open.append(collection)
    }

    private mutating func add(_ node: YAMLNode) throws(ConfigFile.Failure) {
        guard let top = open.popLast() else {
            document = node
            return
        }
        switch top {
        case .sequence(let start, var items):
            items.append(node)
            open.append(.sequence(start, items))
        case .mapping(let start, var pairs, let key, var seen):
            if let key {
                pairs.append(YAMLMapping.Pair(key: key, value: node))
                open.append(.mapping(start, pairs, key: nil, seen: seen))
            } else {
                if let text = node.string {
                    guard seen.insert(text).inserted else {
                        let first = pairs.first { $0.key.string == text }.map { " (first at line \($0.key.mark.line))" } ?? ""
                        throw failure("duplicate key \(text.debugDescription) at line \(node.mark.line)\(first)")
                    }
                }
                open.append(.mapping(start, pairs, key: node, seen: seen))
            }
        }
    }

    private func failure(_ message: String) -> ConfigFile.Failure {
        ConfigFile.Failure(message: "not valid YAML: \(message)")
    }
}
