import ArgumentParser

/// The `portpressure` command: subcommands only; each lives in its own file.
@main
struct PortPressureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portpressure",
        abstract: "Ephemeral-port pressure monitor and Prometheus exporter for Linux.",
        discussion: """
            Reads every TCP and UDP socket through netlink SOCK_DIAG, counts ephemeral ports per \
            source address and per destination against the effective port range, and finds \
            duplicate UDP 4-tuples (sockets that silently overshadow each other).
            """,
        version: BuildInfo.version,
        subcommands: [ReportCommand.self, ServeCommand.self, ConnectCommand.self, ProbeCommand.self]
    )
}
