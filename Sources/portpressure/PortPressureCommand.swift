import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The `portpressure` command: subcommands only; each lives in its own file.
@main
struct PortPressureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portpressure",
        abstract: "Ephemeral-port pressure monitor and Prometheus exporter for Linux.",
        discussion: """
            Reads every TCP and UDP socket through netlink SOCK_DIAG, counts ephemeral ports per \
            source address and per destination against the effective port range, and finds \
            duplicate UDP 4-tuples (sockets that silently overshadow each other).
            """,
        version: BuildInfo.versionText,
        subcommands: [ReportCommand.self, ServeCommand.self, ConnectCommand.self, ProbeCommand.self]
    )

    /// Parses and runs, with usage errors exiting 2 (as the Prometheus exporters' flag
    /// parsers do) instead of ArgumentParser's 64.
    ///
    /// The entry point and every subcommand are synchronous: `serve` blocks its signals on the
    /// main thread before any other thread exists, and `connect` stays single-threaded.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            guard code == .validationFailure else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { Console.errorLine(message) }
            Glibc.exit(2)
        }
    }
}
