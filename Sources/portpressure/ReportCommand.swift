import ArgumentParser
import Foundation
import PortPressure
import SockDiag
import SocketModel
import Snapshotting

/// `portpressure report`: one snapshot of the current network namespace, for a person.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print one port-pressure snapshot of the current network namespace.",
        discussion: """
            Shows the effective ephemeral range, sockets by state, ports used per local address \
            against the limit, the busiest destinations, duplicate UDP 4-tuples (which socket \
            receives, which are overshadowed) and the owners holding the most ports. \
            Run it inside a namespace with `ip netns exec NAME portpressure report`.
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

    func validate() throws {
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
        let recorder = try record.map { path throws(SockDiagError) in try DumpRecorder(path: path) }
        return (HostSnapshotter(client: try SockDiagClient(), recorder: recorder), recorder)
    }

    func run() throws {
        let taken: TakenSnapshot
        do {
            let (source, recorder) = try source()
            taken = try source.take(options: AnalysisOptions(
                topDestinationsPerSource: top, topDestinations: top, topOwners: top, topUDPDuplicates: top
            ))
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
            let colored: Bool
            switch color {
            case .always: colored = true
            case .never: colored = false
            case .auto: colored = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            }
            Console.out(ReportTable(taken.snapshot, color: colored).render())
        }
    }
}
