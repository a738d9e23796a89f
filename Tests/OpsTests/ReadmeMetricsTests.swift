import Foundation
import Testing
import TestSupport

/// The README's metric tables are the contract as users read it: they must name the same
/// families, with the same labels, as the contract the dashboards and alerts are checked
/// against, and as the exporter's golden exposition.
@Suite("README metric tables")
struct ReadmeMetricsTests {
    /// Metric name → label names, from the rows of the README's metric tables (sections Metrics,
    /// Every network namespace and Probe metrics). A row may name
    /// several metrics; `_high` after `..._low` is shorthand for the same name with that ending.
    static func readmeTables() throws -> [String: Set<String>] {
        let readme = try Repository.text("README.md")
        var tables = ""
        for heading in ["\n### Metrics\n", "\n### Every network namespace (`--collector.netns`)\n", "\n### Probe metrics\n"] {
            guard let start = readme.range(of: heading) else { throw OpsTestError("README.md has no \(heading)") }
            let rest = readme[start.upperBound...]
            tables += rest[..<(rest.range(of: "\n#")?.lowerBound ?? rest.endIndex)] + "\n"
        }
        var metrics: [String: Set<String>] = [:]
        let code = try Regex("`([^`]+)`")
        for line in tables.split(separator: "\n") where line.hasPrefix("| `portpressure_") || line.hasPrefix("| `process_") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3 else { continue }
            let labels = Set(cells[2].matches(of: code).map { String(cells[2][$0.range].dropFirst().dropLast()) })
            var previous: String?
            for match in cells[1].matches(of: code) {
                var name = String(cells[1][match.range].dropFirst().dropLast())
                if name.hasPrefix("_"), let base = previous, let cut = base.lastIndex(of: "_") { name = base[..<cut] + name }
                metrics[name] = labels
                previous = name
            }
        }
        return metrics
    }

    /// Family name → label names of a text exposition: every family with a TYPE line, and
    /// the label names its labelled samples carry.
    static func exposition(_ text: String) throws -> [String: Set<String>] {
        let exposition = try Exposition(text)
        var families = Dictionary(uniqueKeysWithValues: exposition.types.keys.map { ($0, Set<String>()) })
        for sample in exposition.samples where !sample.labels.isEmpty {
            families[sample.name, default: []].formUnion(sample.labels.keys)
        }
        return families
    }

    @Test("The README's tables and the metric contract name the same metrics and labels")
    func readmeMatchesTheContract() throws {
        let readme = try Self.readmeTables()
        var contract = MetricContract.labels
        for prometheusOwn in ["up", "scrape_duration_seconds", "scrape_samples_scraped"] { contract[prometheusOwn] = nil }
        #expect(readme == contract, "README only: \(readme.keys.filter { contract[$0] == nil }.sorted()); contract only: \(contract.keys.filter { readme[$0] == nil }.sorted()); labels differ: \(readme.keys.filter { contract[$0] != nil && contract[$0] != readme[$0] }.sorted())")
    }

    @Test("Every family of the golden exposition is in the README, with its labels")
    func goldenFamiliesAreDocumented() throws {
        let readme = try Self.readmeTables()
        let golden = try Self.exposition(Repository.text("Tests/ExporterTests/Golden/population.prom"))
        #expect(golden.count >= 15)
        for (name, labels) in golden {
            #expect(readme[name] == labels, "\(name): README \(readme[name].map { "\($0.sorted())" } ?? "missing"), exposition \(labels.sorted())")
        }
    }

    @Test("The parser reads shorthand and multi-metric rows")
    func parserReadsShorthand() throws {
        let readme = try Self.readmeTables()
        #expect(readme["portpressure_ephemeral_port_range_high"] == ["netns"])
        #expect(readme["process_max_fds"] == [])
        #expect(readme["portpressure_destination_ephemeral_ports_used"] == ["netns", "proto", "family", "local_address", "remote_address", "remote_port"])
        #expect(readme["portpressure_netns_stale_entries"] == [])
    }
}
