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

    /// Runs alerts_test.yml against alerts.yml with `from` replaced by `to`; promtool's result.
    func promtoolTest(replacing from: String, with to: String) throws -> ProcessResult {
        let original = try Repository.text(Repository.alertRules)
        #expect(original.contains(from), "alerts.yml has no \(from)")
        let mutated = original.replacingOccurrences(of: from, with: to)
        return try withTemporaryDirectory("pp-alerts") { directory in
            try mutated.write(to: directory.appendingPathComponent("alerts.yml"), atomically: true, encoding: .utf8)
            let tests = directory.appendingPathComponent("alerts_test.yml")
            try Repository.text(Repository.alertTests).write(to: tests, atomically: true, encoding: .utf8)
            return try Tool.run(["promtool", "test", "rules", tests.path])
        }
    }

    @Test("promtool test rules fails when a threshold moves (the unit tests can fail)")
    func promtoolUnitTestsCatchAMovedThreshold() throws {
        for (from, to) in [("> 0.75", ">= 0.75"), ("> 0.9\n", ">= 0.9\n"), ("> 0.5\n", "> 0.3\n"), ("> 0.5\n", "> 0.6\n"), ("4 * 3600", "3 * 3600"),
                           ("[5m]) > 0", "[5m]) >= 0")] {
            #expect(try promtoolTest(replacing: from, with: to).status != 0, "changing \(from) to \(to) went unnoticed")
        }
    }

    @Test("The unit tests notice an alert that ignores bound ports, or counts the address instead of the destination")
    func promtoolUnitTestsCatchTheWrongPool() throws {
        let bound = #"portpressure_namespace_bound_ephemeral_ports{job="portpressure", proto="tcp"}"#
        #expect(try promtoolTest(replacing: bound, with: "0 * " + bound).status != 0, "bound ports left out went unnoticed")
        // The per-address count pages for a workload that only calls connect() while every destination is free.
        let destination = "portpressure_destination_ephemeral_ports_max"
        #expect(try promtoolTest(replacing: destination, with: "portpressure_ephemeral_ports_used").status != 0,
                "the address-full, destinations-free case went unnoticed")
        // UDP counted per address instead of over all addresses.
        let udp = #"portpressure_namespace_ephemeral_ports_used{job="portpressure", proto="udp"}"#
        #expect(try promtoolTest(replacing: udp, with: #"portpressure_ephemeral_ports_used{job="portpressure", proto="udp"}"#).status != 0)
    }

    @Test("Every alert on running out of ports names the errno it predicts")
    func exhaustionAlertsNameTheirErrno() throws {
        let errno = try Regex("E(ADDRNOTAVAIL|ADDRINUSE|AGAIN)")
        for rule in try RuleFile.load(Repository.alertRules).alerts
        where rule.expr.contains("ephemeral_ports") || rule.alert == "PortPressureProbeOutOfPorts" {
            let description = rule.annotations?["description"] ?? ""
            #expect(description.contains(errno) || description.contains("reason | toUpper"), "\(rule.alert!): \(description)")
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
        #expect(severities("PortPressureDestinationPortsAlmostExhausted") == ["warning", "critical"])
        #expect(severities("PortPressureUDPPortsAlmostExhausted") == ["warning", "critical"])
        // bind() before connect() only: never a page, since a plain connect() still works.
        #expect(severities("PortPressureLocalAddressPortsAlmostExhausted") == ["warning"])
        #expect(severities("PortPressurePortsFillingUp") == ["warning"])
        #expect(severities("PortPressureUDPSocketsOvershadowed") == ["warning"])
        #expect(severities("PortPressureProbeOutOfPorts") == ["critical"])
        #expect(severities("PortPressureProbeFailing") == ["warning"])
        #expect(!severities("PortPressureCollectorFailing").isEmpty)
        #expect(!severities("PortPressureConfigReloadFailed").isEmpty)
        #expect(!severities("PortPressureExporterDown").isEmpty)
        let destination = alerts.filter { $0.alert == "PortPressureDestinationPortsAlmostExhausted" }
        #expect(destination.first { $0.labels?["severity"] == "warning" }?.forDuration == "15m")
        #expect(destination.first { $0.labels?["severity"] == "critical" }?.forDuration == "5m")
        #expect(destination.allSatisfy { $0.expr.contains("portpressure_namespace_bound_ephemeral_ports") }, "bound ports count")
        #expect(alerts.first { $0.alert == "PortPressureUDPSocketsOvershadowed" }?.forDuration == "10m")
        let filling = try #require(alerts.first { $0.alert == "PortPressurePortsFillingUp" })
        #expect(filling.expr.contains("predict_linear(portpressure_destination_ephemeral_ports_max{"))
        #expect(filling.expr.contains("predict_linear(portpressure_namespace_ephemeral_ports_used{"))
        let reload = try #require(alerts.first { $0.alert == "PortPressureConfigReloadFailed" })
        #expect(reload.expr.contains("portpressure_config_last_reload_successful{") && reload.expr.contains("== 0"))
    }

    @Test("Every selector carries the configured selector")
    func everySelectorCarriesTheConfiguredOne() throws {
        let config = try AlertsConfig.load()
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            for selector in try PromQLSelectors.selectors(in: rule.expr) {
                #expect(selector.description.contains(config.selector), "\(rule.alert!): \(selector)")
            }
        }
    }

    @Test("Pressure is a ratio to the live limit, never a port count")
    func thresholdsAreRatiosOfTheLiveLimit() throws {
        let hourMultiple = try Regex(#"\d+\s*\*\s*3600"#)
        // Identifiers first, so digits inside metric names are not numbers.
        let token = try Regex(#"[A-Za-z_:][A-Za-z0-9_:]*|\d+(\.\d+)?"#)
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            let expr = rule.expr
            if expr.contains("ephemeral_ports_used") || expr.contains("portpressure_destination_ephemeral_ports_max") {
                #expect(expr.contains("portpressure_ephemeral_ports_limit"), "\(rule.alert!) divides by the limit")
                // Joins name the usage labels they drop (never `on(instance)`), so every other
                // target label survives: job, instance, and whatever discovery adds.
                #expect(!expr.contains(" on("), "\(rule.alert!) joins on a fixed label list")
                #expect(expr.contains("ignoring(proto, family, local_address) group_left") || expr.contains("ignoring(proto) group_left"),
                        "\(rule.alert!) joins per target")
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
            #expect(rule.annotations?["runbook_url"] == (try Runbook.url(alert: name)), "\(name)")
            #expect(headings.contains(name), "the runbook has no '### \(name)'")
        }
        // And no runbook entry for an alert that does not exist.
        let names = Set(alerts.map { $0.alert! })
        for heading in headings where heading.hasPrefix("PortPressure") {
            #expect(names.contains(heading), "runbook heading \(heading) names no alert")
        }
        #expect(runbook.hasPrefix("## Runbook\n"))
    }

    @Test("The runbook's alert table lists every alert with its severities, and nothing else")
    func runbookTableMatchesTheRules() throws {
        var table: [String: Set<String>] = [:]
        for line in try Runbook.text().split(separator: "\n") where line.hasPrefix("| `PortPressure") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let name = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            table[name] = Set(cells[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        var rules: [String: Set<String>] = [:]
        for rule in try RuleFile.load(Repository.alertRules).alerts {
            rules[rule.alert!, default: []].insert(rule.labels?["severity"] ?? "")
        }
        #expect(table == rules)
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
