import Foundation
import Testing
import TestSupport
import Yams

@Suite("Alert rules: deploy/prometheus")
struct AlertRulesTests {
    @Test("promtool check rules accepts alerts.yml")
    func promtoolCheckRulesAcceptsTheRules() throws {
        let result = try Tool.run(["promtool", "check", "rules", Repository.path(Repository.alertRules)])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let count = try RuleFile.load(Repository.alertRules).groups.flatMap(\.rules).count
        #expect(result.stdout.contains("SUCCESS: \(count) rules found"), "\(result.stdout)")
    }

    @Test("promtool test rules: every alert fires where it should and stays quiet below its threshold")
    func promtoolUnitTestsPass() throws {
        let result = try Tool.run(["promtool", "test", "rules", Repository.path(Repository.alertTests)])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS"), "\(result.stdout)")
    }

    @Test("promtool test rules fails when a threshold moves (the unit tests can fail)")
    func promtoolUnitTestsCatchAMovedThreshold() throws {
        let original = try Repository.text(Repository.alertRules)
        for (from, to) in [("> 0.75", ">= 0.75"), ("> 0.90", ">= 0.90"), ("4 * 3600", "3 * 3600"), ("[5m]) > 0", "[5m]) >= 0")] {
            #expect(original.contains(from))
            let mutated = original.replacingOccurrences(of: from, with: to)
            let result = try withTemporaryDirectory("pp-alerts") { directory in
                try mutated.write(to: directory.appendingPathComponent("alerts.yml"), atomically: true, encoding: .utf8)
                let tests = directory.appendingPathComponent("alerts_test.yml")
                try Repository.text(Repository.alertTests).write(to: tests, atomically: true, encoding: .utf8)
                return try Tool.run(["promtool", "test", "rules", tests.path])
            }
            #expect(result.status != 0, "changing \(from) to \(to) went unnoticed")
        }
    }

    @Test("promtool check config accepts the example prometheus.yml")
    func prometheusConfigIsValid() throws {
        let result = try Tool.run(["promtool", "check", "config", Repository.path(Repository.prometheusConfig)])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS"))
    }

    @Test("Mixin conventions: names, severities, annotations")
    func alertsFollowMixinConventions() throws {
        let file = try RuleFile.load(Repository.alertRules)
        #expect(file.groups.count == 1)
        let alerts = file.alerts
        #expect(alerts.count == file.groups.flatMap(\.rules).count, "only alerting rules")
        let camelCase = try Regex("^PortPressure[A-Z][A-Za-z]+$")
        for rule in alerts {
            let name = rule.alert!
            #expect(name.wholeMatch(of: camelCase) != nil, "\(name)")
            #expect(["warning", "critical"].contains(rule.labels?["severity"] ?? ""), "\(name) severity")
            #expect(Set(rule.annotations?.keys.map { $0 } ?? []) == ["summary", "description", "runbook_url"], "\(name) annotations")
            let summary = rule.annotations?["summary"] ?? "", description = rule.annotations?["description"] ?? ""
            #expect(!summary.isEmpty && !description.isEmpty, "\(name) summary and description")
            #expect(rule.forDuration != nil, "\(name) has a for")
        }
        // A twin of the same name differs in severity only.
        let byName = Dictionary(grouping: alerts, by: { $0.alert! })
        for (name, twins) in byName where twins.count > 1 {
            #expect(Set(twins.map { $0.labels?["severity"] ?? "" }).count == twins.count, "\(name) twins share a severity")
        }
    }

    @Test("The alerts the issue asks for exist, with their severities")
    func requiredAlertsExist() throws {
        let alerts = try RuleFile.load(Repository.alertRules).alerts
        func severities(_ name: String) -> Set<String> {
            Set(alerts.filter { $0.alert == name }.compactMap { $0.labels?["severity"] })
        }
        #expect(severities("PortPressureEphemeralPortsAlmostExhausted") == ["warning", "critical"])
        #expect(severities("PortPressureEphemeralPortsFillingUp") == ["warning"])
        #expect(!severities("PortPressureDestinationPortsAlmostExhausted").isEmpty)
        #expect(severities("PortPressureUDPSocketsOvershadowed") == ["warning"])
        #expect(severities("PortPressureProbeOutOfPorts") == ["critical"])
        #expect(severities("PortPressureProbeFailing") == ["warning"])
        #expect(!severities("PortPressureCollectorFailing").isEmpty)
        #expect(!severities("PortPressureExporterDown").isEmpty)
        let almost = alerts.filter { $0.alert == "PortPressureEphemeralPortsAlmostExhausted" }
        #expect(almost.first { $0.labels?["severity"] == "warning" }?.forDuration == "15m")
        #expect(almost.first { $0.labels?["severity"] == "critical" }?.forDuration == "5m")
        #expect(alerts.first { $0.alert == "PortPressureUDPSocketsOvershadowed" }?.forDuration == "10m")
        let filling = try #require(alerts.first { $0.alert == "PortPressureEphemeralPortsFillingUp" })
        #expect(filling.expr.contains("predict_linear(portpressure_ephemeral_ports_used[1h], 4 * 3600)"))
    }

    @Test("Pressure is a ratio to the live limit, never a port count")
    func thresholdsAreRatiosOfTheLiveLimit() throws {
        let hourMultiple = try Regex(#"\d+\s*\*\s*3600"#)
        // Identifiers first, so digits inside metric names are not numbers.
        let token = try Regex(#"[A-Za-z_:][A-Za-z0-9_:]*|\d+(\.\d+)?"#)
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            let expr = rule.expr
            if expr.contains("portpressure_ephemeral_ports_used") || expr.contains("portpressure_destination_ephemeral_ports_max") {
                #expect(expr.contains("portpressure_ephemeral_ports_limit"), "\(rule.alert!) divides by the limit")
                #expect(expr.contains("ignoring(proto, family, local_address) group_left"), "\(rule.alert!) joins per target")
            }
            // Strip strings and [ranges]; what numbers remain must be ratios, or hours in seconds.
            var stripped = expr.replacing(try Regex(#""[^"]*""#), with: "")
            stripped = stripped.replacing(try Regex(#"\[[^\]]*\]"#), with: "")
            stripped = stripped.replacing(hourMultiple, with: "")
            let numbers = stripped.matches(of: token).compactMap { Double(stripped[$0.range]) }
            #expect(!numbers.isEmpty, "\(rule.alert!) has a threshold")
            for value in numbers {
                #expect(value <= 1, "\(rule.alert!) compares against \(value): a hard-coded count?")
            }
        }
    }

    @Test("Every selector of every alert names a metric and labels of the contract")
    func alertsUseTheMetricContract() throws {
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            let selectors = try PromQLSelectors.selectors(in: rule.expr)
            #expect(!selectors.isEmpty)
            for selector in selectors {
                #expect(MetricContract.problems(selector).isEmpty, "\(rule.alert!): \(MetricContract.problems(selector))")
            }
        }
    }

    @Test("Every runbook_url is the runbook base plus the alert's heading, and the heading exists")
    func runbookLinksResolve() throws {
        let runbook = try Runbook.text()
        let headings = Set(runbook.split(separator: "\n").filter { $0.hasPrefix("### ") }.map { String($0.dropFirst(4)) })
        let alerts = try RuleFile.load(Repository.alertRules).alerts
        for rule in alerts {
            let name = rule.alert!
            #expect(rule.annotations?["runbook_url"] == Runbook.url(alert: name), "\(name)")
            #expect(headings.contains(name), "the runbook has no '### \(name)'")
        }
        // And no runbook entry for an alert that does not exist.
        let names = Set(alerts.map { $0.alert! })
        for heading in headings where heading.hasPrefix("PortPressure") {
            #expect(names.contains(heading), "runbook heading \(heading) names no alert")
        }
        #expect(runbook.hasPrefix("## Runbook\n"))
    }

    @Test("Every alert is exercised by a promtool test that expects it to fire")
    func everyAlertHasAFiringUnitTest() throws {
        let tests = try Yams.load(yaml: Repository.text(Repository.alertTests)) as? [String: Any]
        let cases = (tests?["tests"] as? [[String: Any]] ?? []).flatMap { $0["alert_rule_test"] as? [[String: Any]] ?? [] }
        var firing: [String: Set<String>] = [:]  // alertname -> severities expected to fire
        var quiet: Set<String> = []
        for check in cases {
            let name = check["alertname"] as? String ?? ""
            let expected = check["exp_alerts"] as? [[String: Any]] ?? []
            if expected.isEmpty { quiet.insert(name) }
            for alert in expected {
                let severity = (alert["exp_labels"] as? [String: Any])?["severity"] as? String ?? ""
                firing[name, default: []].insert(severity)
            }
        }
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            let name = rule.alert!
            #expect(firing[name]?.contains(rule.labels?["severity"] ?? "") == true, "no test fires \(name) (\(rule.labels?["severity"] ?? ""))")
            #expect(quiet.contains(name), "no test shows \(name) quiet before its for")
        }
    }
}
