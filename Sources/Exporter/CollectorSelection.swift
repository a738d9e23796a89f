/// Which collectors a request selects: pure, so that `Routes` and the HTTP fuzz target
/// (Fuzz/HTTPFuzz.swift) run the same code.
public enum CollectorSelection {
    /// `collect` (default: every enabled collector) minus `exclude`; an unknown or disabled
    /// name is an error, in words for the response body.
    public static func resolve(collect: [String], exclude: [String], enabled: [String]) -> Result<Set<String>, Failure> {
        for name in collect + exclude where !enabled.contains(name) {
            return .failure(Failure(message: "unknown or disabled collector \(name.debugDescription) (enabled: \(enabled.joined(separator: ", ")))"))
        }
        var selected = collect.isEmpty ? Set(enabled) : Set(collect)
        selected.subtract(exclude)
        return .success(selected)
    }

    public struct Failure: Error, Sendable, Hashable {
        public var message: String
    }
}
