import SystemPackage

/// Unbuffered, whole writes to standard output and standard error, shared by the subcommands:
/// a reader of a pipe sees each line as soon as it is printed, and nothing is lost to a short
/// write or EINTR (swift-system's `writeAll` retries both).
enum Console {
    /// Writes `text` as is to standard output.
    static func out(_ text: String) { write(text, to: .standardOutput) }

    /// Writes `line` and a newline to standard output.
    static func outLine(_ line: String) { write(line + "\n", to: .standardOutput) }

    /// Writes `line` and a newline to standard error.
    static func errorLine(_ line: String) { write(line + "\n", to: .standardError) }

    /// Writes all of `text`; gives up on an error (a closed pipe), as there is nowhere left
    /// to report it.
    static func write(_ text: String, to descriptor: FileDescriptor) {
        _ = try? descriptor.writeAll(text.utf8)
    }
}
