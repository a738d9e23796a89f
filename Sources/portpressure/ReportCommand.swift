import ArgumentParser
import NetworkNamespaces
import PortPressure
import SockDiag
import SocketModel
import Snapshotting
#if canImport(Glibc)
import Glibc
#endif

/// `portpressure report`: one snapshot of the current network namespace, for a person.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print one port-pressure snapshot of the current network namespace.",
        discussion: """
            Shows the effective ephemeral range, sockets by state, ports used per local address \
            against the limit, the busiest destinations, duplicate UDP 4-tuples (which socket \
            receives, which are overshadowed) and the owners holding the most ports. \
            --netns NAME|PATH|PID reports another network namespace; --all-namespaces gives one row \
            per namespace of the host (both need CAP_SYS_ADMIN and CAP_SYS_PTRACE, e.g. root).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    enum ColorMode: String, ExpressibleByArgument, CaseIterable {
        case auto, always, never
    }

    @Option(help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: " or ")).")
    var format: Format = .table

    @Option(help: "Color the table: auto (only on a terminal), always or never.")
    var color: ColorMode = .auto

    @Option(help: "How many destinations, duplicate UDP 4-tuples and owners to list.")
    var top: Int = 10

    @Option(help: ArgumentHelp("Also write the raw SOCK_DIAG dump to this file, to analyze elsewhere with --replay.", valueName: "file"))
    var record: String?

    @Option(help: ArgumentHelp("Analyze a dump written by --record instead of the live kernel.", valueName: "file"))
    var replay: String?

    @Option(name: .customLong("port-range"),
            help: ArgumentHelp("With --replay: the range the recorded host had, \"LOW HIGH\" (default: this namespace's).", valueName: "range"))
    var portRange: String?

    @Option(name: .customLong("reserved-ports"),
            help: ArgumentHelp("With --replay: the recorded host's ip_local_reserved_ports, e.g. \"1000-1005,2000\".", valueName: "list"))
    var reservedPorts: String?

    @Flag(name: .customLong("all-namespaces"),
          help: "One row per network namespace of the host: name, pod/container, range and limit, highest pressure per protocol, duplicate UDP tuples.")
    var allNamespaces = false

    @Option(name: .customLong("netns"),
            help: ArgumentHelp("Report this network namespace: an ip netns NAME, a namespace PATH (/run/netns/x, /proc/PID/ns/net) or a PID.", valueName: "NAME|PATH|PID"))
    var netns: String?

    func validate() throws {
        if allNamespaces && netns != nil { throw ValidationError("--all-namespaces and --netns exclude each other") }
        if (allNamespaces || netns != nil) && (record != nil || replay != nil) {
            throw ValidationError("--all-namespaces and --netns read the live kernel: not with --record or --replay")
        }
        guard (1...10_000).contains(top) else { throw ValidationError("--top must be between 1 and 10000, not \(top)") }
        if record != nil && replay != nil { throw ValidationError("--record and --replay exclude each other") }
        if replay == nil && (portRange != nil || reservedPorts != nil) {
            throw ValidationError("--port-range and --reserved-ports go with --replay")
        }
        if let portRange {
            do { _ = try EphemeralRange.parse(portRange: portRange, reservedPorts: reservedPorts ?? "") } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    /// Where the snapshot comes from: the kernel (with the recorder of `--record`), or a recording.
    private func source() throws -> (any SnapshotSource, DumpRecorder?) {
        if let replay {
            let range = try RecordedSnapshotSource.recordedRange(portRange: portRange, reservedPorts: reservedPorts)
            return (RecordedSnapshotSource(path: replay, range: range), nil)
        }
        if let netns {
            return (NamespacesSnapshotter.snapshotter(try Self.handle(netns)), nil)
        }
        let recorder = try record.map { path throws(SockDiagError) in try DumpRecorder(path: path) }
        return (HostSnapshotter(client: try SockDiagClient(), recorder: recorder), recorder)
    }

    /// The handle of the namespace `--netns` names: `/run/netns/NAME`, a path, or `/proc/PID/ns/net`.
    private static func handle(_ argument: String) throws -> NamespaceHandle {
        let path = NamespaceEntry.Target.path(naming: argument)
        guard let target = NamespaceEntry.Target(path: path) else {
            throw ReportFailure("--netns \(argument): \(path) is not a network namespace (no such ip netns name, PID or namespace file)")
        }
        guard let result = NamespaceEntry.makeHandles([target]).first else { throw ReportFailure("--netns \(argument): no handle") }
        do { return try result.get() } catch { throw ReportFailure("--netns \(argument): \(error)") }
    }

    private var colored: Bool {
        switch color {
        case .always: true
        case .never: false
        case .auto: isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil
        }
    }

    private var options: AnalysisOptions {
        AnalysisOptions(topDestinationsPerSource: top, topDestinations: top, topOwners: top, topUDPDuplicates: top)
    }

    /// `--all-namespaces`: every namespace through its handle, the cost rule deciding which get dumped.
    private func runAllNamespaces() throws {
        do { try NamespacePrivileges.check() } catch {
            Console.errorLine("portpressure report --all-namespaces: \(error)")
            throw ExitCode(1)
        }
        let all = NamespacesSnapshotter().take(options: options, maximum: nil)
        for (id, error) in all.failures.sorted(by: { $0.key < $1.key }) {
            Console.errorLine("portpressure report: network namespace \(id) skipped: \(error)")
        }
        for (id, error) in all.dumpFailures.sorted(by: { $0.key < $1.key }) {
            Console.errorLine("portpressure report: network namespace \(id): dump failed, bounds only: \(error)")
        }
        let summaries = all.measured.map(\.summary)
        switch format {
        case .json: Console.outLine(String(decoding: try NamespacesJSON(summaries).encoded(pretty: true), as: UTF8.self))
        case .table: Console.out(NamespacesTable(summaries, color: colored).render())
        }
    }

    func run() throws {
        if allNamespaces { return try runAllNamespaces() }
        let taken: TakenSnapshot
        do {
            let (source, recorder) = try source()
            taken = try source.take(options: options)
            // The trailer makes the recording whole; without it, replay refuses the file.
            try recorder?.close()
        } catch {
            Console.errorLine("portpressure report: \(error)")
            throw ExitCode(1)
        }
        switch format {
        case .json:
            Console.outLine(String(decoding: try ReportJSON(taken.snapshot).encoded(pretty: true), as: UTF8.self))
        case .table:
            Console.out(ReportTable(taken.snapshot, color: colored).render())
        }
    }
}

/// A failure of `report` stated for a person.
struct ReportFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
