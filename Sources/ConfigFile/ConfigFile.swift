import Yams

/// Reading a YAML configuration file, once for every file the exporter reads (probes, web):
/// the text (ConfigFile+Read.swift), then the composed YAML, with errors in one line. This file
/// needs Yams only, so the probes fuzz target (Fuzz/run.sh) compiles it alone.
public enum ConfigFile {
    /// Why a file could not be read or is not YAML; the caller adds the file's name.
    public struct Failure: Error, Sendable {
        public let message: String
    }

    /// The composed YAML document, nil for an empty one.
    public static func compose(yaml: String) throws(Failure) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch {
            throw Failure(message: "not valid YAML: \(describe(yamlError: error))")
        }
    }

    /// A Yams error in one line: the problem and where (Yams's own text spans several lines).
    private static func describe(yamlError error: any Error) -> String {
        switch error as? YamlError {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            // libyaml's own text for this one has an unbalanced parenthesis and names a C function.
            let problem = problem.hasPrefix("Maximum nesting level reached") ? "nested too deeply" : problem
            return "\(problem) at line \(mark.line), column \(mark.column)"
        case let .duplicatedKeysInMapping(duplicates, context):
            return "duplicate key \(duplicates.joined(separator: ", ")) at line \(context.mark.line)"
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }
}
