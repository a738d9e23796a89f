/// A composed YAML node, as a configuration reads it: scalars keep their text as written
/// (no type resolution: each field decides what its text means), mappings keep their order.
/// Made by `ConfigFile.compose(yaml:)`.
public struct YAMLNode: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping(YAMLMapping)
    }

    public var content: Content
    /// Where the node starts in the text.
    public var mark: YAMLMark

    public init(_ content: Content, mark: YAMLMark) {
        self.content = content
        self.mark = mark
    }

    public var scalar: YAMLScalar? {
        if case let .scalar(scalar) = content { scalar } else { nil }
    }

    /// The text of a scalar; nil for a sequence or a mapping.
    public var string: String? { scalar?.string }

    public var sequence: [YAMLNode]? {
        if case let .sequence(items) = content { items } else { nil }
    }

    public var mapping: YAMLMapping? {
        if case let .mapping(mapping) = content { mapping } else { nil }
    }

    /// YAML's null: a plain (unquoted) scalar `~`, `null`, `Null`, `NULL` or nothing at all
    /// (`key:` with no value). A quoted `"null"` is the text null.
    public var isNull: Bool {
        guard let scalar, scalar.isPlain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }
}

/// A scalar's text, and whether it was written plain (not quoted, not a block scalar).
public struct YAMLScalar: Sendable, Hashable {
    public var string: String
    public var isPlain: Bool

    public init(_ string: String, isPlain: Bool = true) {
        self.string = string
        self.isPlain = isPlain
    }
}

/// A mapping's pairs in the order written; keys are unique (`compose` refuses duplicates).
public struct YAMLMapping: Sendable, Hashable, RandomAccessCollection {
    public struct Pair: Sendable, Hashable {
        public var key: YAMLNode
        public var value: YAMLNode
    }

    public var pairs: [Pair]

    public init(_ pairs: [Pair]) { self.pairs = pairs }

    public var startIndex: Int { pairs.startIndex }
    public var endIndex: Int { pairs.endIndex }
    public subscript(position: Int) -> (key: YAMLNode, value: YAMLNode) { (pairs[position].key, pairs[position].value) }

    /// The value of the scalar key `key`.
    public subscript(key: String) -> YAMLNode? {
        pairs.first { $0.key.string == key }?.value
    }

    public var keys: [YAMLNode] { pairs.map(\.key) }
}

/// A position in the text, counted from 1 (columns in Unicode scalars, as libyaml counts).
public struct YAMLMark: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}
