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

    /// Writes all of `bytes`, as `write(_:to:)`.
    static func write(_ bytes: [UInt8], to descriptor: FileDescriptor) {
        _ = try? descriptor.writeAll(bytes)
    }
}

/// Lines for standard output gathered into one `write(2)`, for output made faster than one
/// system call per line is worth (`connect` opens a UDP connection in a few microseconds; a
/// write to a pipe costs about as much). The owner flushes before anything that may block
/// and at the end, so a reader still sees every line before a wait.
struct ConsoleBuffer {
    private var bytes: [UInt8] = []
    /// Flushed when it holds this many bytes.
    let limit: Int

    init(limit: Int = 64 * 1024) {
        self.limit = limit
        bytes.reserveCapacity(limit)
    }

    mutating func appendLine(_ line: String) {
        bytes.append(contentsOf: line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        if bytes.count >= limit { flush() }
    }

    mutating func flush() {
        guard !bytes.isEmpty else { return }
        Console.write(bytes, to: .standardOutput)
        bytes.removeAll(keepingCapacity: true)
    }
}
