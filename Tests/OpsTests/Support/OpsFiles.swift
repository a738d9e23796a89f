import Foundation
import TestSupport
import Yams

/// The repository's operations files, found from this source file's location (the tests read
/// the files in the working tree, so they need no bundled resources).
enum Repository {
    static let root: URL = SourceTree.root

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static func text(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw OpsTestError("\(relative) is not a JSON object")
        }
        return object
    }

    static let alertsConfig = "deploy/prometheus/alerts.config.json"
    static let alertsGenerator = "scripts/ops-generate-alerts"
    static let alertRules = "deploy/prometheus/alerts.yml"
    static let alertTests = "deploy/prometheus/alerts_test.yml"
    static let prometheusConfig = "deploy/prometheus/prometheus.yml"
    static let systemdUnit = "deploy/systemd/portpressure.service"
    static let systemdDefaults = "deploy/systemd/portpressure.default"
    static let prometheusRule = "deploy/kubernetes/prometheusrule.yaml"
    static let dashboards = ["dashboards/portpressure-host.json", "dashboards/portpressure-fleet.json"]
}

/// The alerts' parameters, deploy/prometheus/alerts.config.json: the one place they live
/// (scripts/ops-generate-alerts writes the rule files from it).
struct AlertsConfig: Decodable {
    var selector: String
    var runbookURL: String

    enum CodingKeys: String, CodingKey {
        case selector
        case runbookURL = "runbook_url"
    }

    static func load() throws -> AlertsConfig {
        try JSONDecoder().decode(AlertsConfig.self, from: Data(Repository.text(Repository.alertsConfig).utf8))
    }
}

/// Where every alert's `runbook_url` points: the README's runbook section, one heading per alert
/// (GitHub's anchor of `### PortPressureFoo` is `#portpressurefoo`), under the configured address.
enum Runbook {
    static func url(alert: String) throws -> String { try AlertsConfig.load().runbookURL + "#" + alert.lowercased() }

    /// The runbook's text: README.md's `## Runbook` section, up to the next `## `.
    static func text() throws -> String {
        let readme = try Repository.text("README.md")
        guard let start = readme.range(of: "\n## Runbook\n") else { throw OpsTestError("README.md has no \"## Runbook\" section") }
        let rest = readme[start.upperBound...]
        let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
        return "## Runbook\n" + rest[..<end]
    }
}

struct OpsTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// External tools (`Tool`) and `withTemporaryDirectory` live in TestSupport, shared with PackagingTests.

// MARK: - Prometheus rule files

/// A Prometheus rule file, as far as these tests need it.
struct RuleFile: Codable, Equatable {
    var groups: [RuleGroup]
}

struct RuleGroup: Codable, Equatable {
    var name: String
    var interval: String?
    var rules: [Rule]
}

struct Rule: Codable, Equatable {
    var alert: String?
    var record: String?
    var expr: String
    var forDuration: String?
    var labels: [String: String]?
    var annotations: [String: String]?

    enum CodingKeys: String, CodingKey {
        case alert, record, expr, labels, annotations
        case forDuration = "for"
    }

    init(alert: String? = nil, record: String? = nil, expr: String, forDuration: String? = nil,
         labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.alert = alert
        self.record = record
        self.expr = expr
        self.forDuration = forDuration
        self.labels = labels
        self.annotations = annotations
    }
}

extension RuleFile {
    static func load(_ relative: String) throws -> RuleFile {
        try YAMLDecoder().decode(RuleFile.self, from: Repository.text(relative))
    }

    var alerts: [Rule] { groups.flatMap(\.rules).filter { $0.alert != nil } }
}

/// Runs `promtool check rules` on rules written to a temporary file; returns promtool's result.
func promtoolCheckRules(_ rules: RuleFile) throws -> ProcessResult {
    try withTemporaryDirectory("pp-rules") { directory in
        let file = directory.appendingPathComponent("rules.yml")
        try YAMLEncoder().encode(rules).write(to: file, atomically: true, encoding: .utf8)
        return try Tool.run(["promtool", "check", "rules", file.path])
    }
}
