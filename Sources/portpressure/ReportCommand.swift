import ArgumentParser
import Exporter
import Foundation
import PortPressure
import SockDiag

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

    func validate() throws {
        guard (1...10_000).contains(top) else { throw ValidationError("--top must be between 1 and 10000, not \(top)") }
    }

    func run() throws {
        let snapshotter: HostSnapshotter
        let taken: TakenSnapshot
        do {
            snapshotter = HostSnapshotter(client: try SockDiagClient())
            taken = try snapshotter.take(options: AnalysisOptions(
                topDestinationsPerSource: top, topDestinations: top, topOwners: top, topUDPDuplicates: top
            ))
        } catch {
            FileHandle.standardError.write(Data("portpressure report: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch format {
        case .json:
            var data = try ReportJSON(taken.snapshot).encoded(pretty: true)
            data.append(UInt8(ascii: "\n"))
            FileHandle.standardOutput.write(data)
        case .table:
            let colored: Bool
            switch color {
            case .always: colored = true
            case .never: colored = false
            case .auto: colored = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            }
            FileHandle.standardOutput.write(Data(ReportTable(taken.snapshot, color: colored).render().utf8))
        }
    }
}
