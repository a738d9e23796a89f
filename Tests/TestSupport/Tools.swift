#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Command-line tools the tests run (promtool, systemd-analyze, dpkg, lintian, ...), found in
/// PATH or the usual system folders. A missing tool fails the test naming the Debian package to
/// install; it never skips it.
public enum Tool {
    static let packages = ["promtool": "prometheus", "prometheus": "prometheus",
                           "systemd-analyze": "systemd", "systemd-socket-activate": "systemd", "curl": "curl",
                           "setpriv": "util-linux", "lintian": "lintian", "dpkg-shlibdeps": "dpkg-dev",
                           "python3": "python3", "openssl": "openssl"]

    public static func path(_ name: String) throws -> String {
        let search = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        for directory in search where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw NetworkNamespace.Failure("\(name) not found in PATH: install Debian's \(packages[name] ?? name) package (scripts/install-deps)")
    }

    /// Runs a tool to completion, found in PATH (or given as a path).
    public static func run(_ arguments: [String], input: String? = nil) throws -> ProcessResult {
        var arguments = arguments
        if !arguments[0].contains("/") { arguments[0] = try path(arguments[0]) }
        return try ProcessResult.run(arguments, input: input)
    }
}

/// A fresh directory under the system's temporary directory, removed when `body` returns.
public func withTemporaryDirectory<T>(_ prefix: String, _ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// The repository's working tree, found from this source file's location
/// (`Tests/TestSupport/Tools.swift`): tests that read or build the repository's own files.
public enum SourceTree {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}
