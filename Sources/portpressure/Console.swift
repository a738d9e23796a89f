#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered, whole writes to standard output and standard error, shared by the subcommands:
/// a reader of a pipe sees each line as soon as it is printed, and nothing is lost to a short
/// write or EINTR.
enum Console {
    /// Writes `text` as is to standard output.
    static func out(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// Writes `line` and a newline to standard output.
    static func outLine(_ line: String) { write(line + "\n", to: STDOUT_FILENO) }

    /// Writes `line` and a newline to standard error.
    static func errorLine(_ line: String) { write(line + "\n", to: STDERR_FILENO) }

    /// `write(2)` of all of `text`, retrying short writes and EINTR; gives up on other errors
    /// (a closed pipe), as there is nowhere left to report them.
    static func write(_ text: String, to fd: CInt) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
