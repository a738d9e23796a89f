import Exporter
import Foundation
import Logging
import PortPressure
import Snapshotting
import SocketModel
import Synchronization

/// The recorded population behind the golden files (see scripts/record-golden-fixture).
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let recording = directory.appendingPathComponent("population.ppsd").path
    /// The range the population was recorded under.
    static let range = try! EphemeralRange.parse(portRange: "40000 40100", reservedPorts: "40010-40019")
    static let source = RecordedSnapshotSource(path: recording, range: range)
    /// The `netns` label of the recorded namespace (a recording holds no inode; any fixed one).
    static let netns = "4026531840"

    static func exporter(
        collectors: [any Collector] = [RangeCollector(), SocketsCollector(), UDPDuplicatesCollector()],
        source: any SnapshotSource = Fixture.source, exporterMetrics: Bool = false, logger: Logger = Logger(label: "test")
    ) -> PortPressureExporter {
        PortPressureExporter(
            configuration: .init(collectors: collectors, exporterMetrics: exporterMetrics, version: "9.9.9", revision: "test",
                                 namespaces: .own(netns: netns)),
            source: source, logger: logger
        )
    }
}

/// A snapshot source whose range and dump fail, counting calls.
final class FailingSource: SnapshotSource {
    let rangeFails: Bool
    private let calls = Atomic<Int>(0)
    init(rangeFails: Bool) { self.rangeFails = rangeFails }
    var takeCount: Int { calls.load(ordering: .relaxed) }

    func range() throws(SnapshotError) -> EphemeralRange {
        if rangeFails { throw .range(.unreadable(path: "/proc/sys/net/ipv4/ip_local_port_range", reason: "EACCES")) }
        return Fixture.range
    }

    func take(options: AnalysisOptions, range: EphemeralRange) throws(SnapshotError) -> TakenSnapshot {
        calls.add(1, ordering: .relaxed)
        throw .sockDiag(.kernel(errno: .permissionDenied, request: "tcp/ipv4 dump"))
    }
}

/// Log lines kept in memory.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    func logger(format: StructuredLogHandler.Format = .logfmt) -> Logger {
        Logger(label: "test") { label in
            StructuredLogHandler(label: label, level: .debug, format: format) { line in self.lines.withLock { $0.append(line) } }
        }
    }
}

/// The recorded population, behind a dump that fails until `recover()` (and again after `fail()`).
final class RecoveringSource: SnapshotSource {
    private let failing = Atomic<Bool>(true)
    func recover() { failing.store(false, ordering: .relaxed) }
    func fail() { failing.store(true, ordering: .relaxed) }

    func range() throws(SnapshotError) -> EphemeralRange { Fixture.range }

    func take(options: AnalysisOptions, range: EphemeralRange) throws(SnapshotError) -> TakenSnapshot {
        if failing.load(ordering: .relaxed) { throw .sockDiag(.kernel(errno: .permissionDenied, request: "tcp dump")) }
        return try Fixture.source.take(options: options, range: range)
    }
}
