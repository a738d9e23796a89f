import Foundation
import Testing

@Suite("Grafana dashboards")
struct DashboardTests {
    static let expectedUIDs = [
        "dashboards/portpressure-host.json": "portpressure-host",
        "dashboards/portpressure-fleet.json": "portpressure-fleet",
    ]

    @Test("Follows the conventions: variables, data source and unit on every panel, $job/$instance/$__rate_interval",
          arguments: Repository.dashboards)
    func followsConventions(file: String) throws {
        let dashboard = try Repository.json(file)
        let problems = DashboardLint.problems(in: dashboard)
        #expect(problems.isEmpty, "\(file):\n\(problems.joined(separator: "\n"))")
        #expect(dashboard["uid"] as? String == Self.expectedUIDs[file], "stable uid")
        #expect(DashboardLint.queries(in: dashboard).count >= 10)
    }

    @Test("Every query parses: variables substituted, checked by promtool as recording rules",
          arguments: Repository.dashboards)
    func everyExpressionParses(file: String) throws {
        let queries = DashboardLint.queries(in: try Repository.json(file))
        let rules = RuleFile(groups: [RuleGroup(name: "dashboard", rules: queries.enumerated().map { index, query in
            Rule(record: "dashboard:query_\(index)",
                 expr: DashboardLint.substitute(query.expr, job: "portpressure", instance: "host-a.example.net:10123", rateInterval: "1m"))
        })])
        let result = try promtoolCheckRules(rules)
        #expect(result.status == 0, "\(file): \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS: \(queries.count) rules found"), "\(result.stdout)")
    }

    @Test("Every selector names a metric and labels of the contract", arguments: Repository.dashboards)
    func usesTheMetricContract(file: String) throws {
        for query in DashboardLint.queries(in: try Repository.json(file)) {
            for selector in try PromQLSelectors.selectors(in: query.expr) {
                let problems = MetricContract.problems(selector)
                #expect(problems.isEmpty, "\(file) \(query): \(problems)")
            }
        }
    }

    @Test("The host dashboard has the panels the issue lists")
    func hostDashboardCoversTheIssue() throws {
        let dashboard = try Repository.json("dashboards/portpressure-host.json")
        let all = DashboardLint.dataPanels(of: dashboard)
        func panels(using metric: String, type: String? = nil) -> [[String: Any]] {
            all.filter { panel in
                (type == nil || panel["type"] as? String == type)
                    && (panel["targets"] as? [[String: Any]] ?? []).contains { ($0["expr"] as? String ?? "").contains(metric) }
            }
        }
        for metric in ["portpressure_ephemeral_port_range_low", "portpressure_ephemeral_port_range_high",
                       "portpressure_ephemeral_ports_limit", "portpressure_udp_duplicate_tuples",
                       "portpressure_udp_overshadowed_sockets", "portpressure_owner_ephemeral_ports_used",
                       "portpressure_probe_duration_seconds", "portpressure_probe_failures_total",
                       "portpressure_scrape_collector_duration_seconds"] {
            #expect(!panels(using: metric).isEmpty, "no panel shows \(metric)")
        }
        func unit(_ panel: [String: Any]) -> String? {
            ((panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?["unit"] as? String
        }
        #expect(panels(using: "portpressure_ephemeral_ports_used", type: "timeseries").contains { unit($0) == "percentunit" },
                "used / limit over time")
        #expect(!panels(using: "predict_linear(").isEmpty, "forecast")
        #expect(!panels(using: "portpressure_destination_ephemeral_ports_used", type: "table").isEmpty, "top destinations table")
        let sockets = panels(using: "portpressure_sockets{", type: "timeseries")
        #expect(sockets.contains { panel in
            let custom = ((panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?["custom"] as? [String: Any]
            return (custom?["stacking"] as? [String: Any])?["mode"] as? String == "normal"
        }, "sockets by state, stacked")
        #expect(!panels(using: "time_wait").isEmpty, "TIME_WAIT share")
        #expect(!panels(using: "portpressure_probe_success", type: "state-timeline").isEmpty, "probe success timeline")
        #expect(!panels(using: "portpressure_scrape_collector_success").isEmpty, "collector success")
        // The pools that fail connect(): bound ports counted, UDP over all addresses.
        #expect(!panels(using: "portpressure_namespace_bound_ephemeral_ports").isEmpty, "bound ports in the destination pool")
        #expect(!panels(using: "portpressure_namespace_ephemeral_ports_used{", type: "stat").isEmpty, "UDP pressure")
        for metric in ["portpressure_kernel_tcp_tw_reuse", "portpressure_kernel_ip_autobind_reuse",
                       "portpressure_kernel_tcp_max_tw_buckets", "portpressure_kernel_tcp_fin_timeout_seconds"] {
            #expect(!panels(using: metric).isEmpty, "no panel shows \(metric)")
        }
    }

    @Test("The host dashboard filters every namespace-scoped selector by $netns and lists namespaces and pods")
    func hostDashboardFiltersByNamespace() throws {
        let dashboard = try Repository.json("dashboards/portpressure-host.json")
        let netns = try #require(DashboardLint.variable("netns", in: dashboard))
        #expect(netns["multi"] as? Bool == true && netns["includeAll"] as? Bool == true && netns["allValue"] as? String == ".*")
        let query = DashboardLint.variableQuery(netns)
        #expect(query.hasPrefix("label_values(portpressure_ephemeral_ports_limit{") && query.hasSuffix(", netns)"), "\(query)")
        #expect(query.contains(#"job="$job""#) && query.contains(#"instance="$instance""#), "\(query)")

        let scoped = Set(MetricContract.labels.filter { $0.value.contains("netns") }.keys)
        var filtered = 0
        for query in DashboardLint.queries(in: dashboard) {
            for selector in try PromQLSelectors.selectors(in: query.expr) where scoped.contains(selector.metric ?? "") {
                let matcher = selector.matcher("netns")
                #expect(matcher?.op == "=~" && matcher?.value == "$netns", "\(query): \(selector) is not filtered by netns=~\"$netns\"")
                filtered += 1
            }
        }
        #expect(filtered >= 30, "namespace-scoped selectors: \(filtered)")

        // The table: per namespace and protocol, the pressure, whether it is exact, the bound, and who it is.
        let table = try #require(DashboardLint.dataPanels(of: dashboard).first {
            $0["type"] as? String == "table" && ($0["title"] as? String ?? "").contains("--collector.netns")
        })
        #expect((table["description"] as? String ?? "").contains("no data unless"))
        let exprs = (table["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        for metric in ["portpressure_netns_pressure_ratio", "portpressure_netns_figures_exact", "portpressure_netns_pressure_bound_ratio"] {
            #expect(exprs.contains { $0.contains(metric + "{") && $0.contains("by (netns, proto)")
                && $0.contains("group_left (name, pod_uid, container_id, runtime)") && $0.contains("portpressure_netns_info{") },
                    "\(metric) joined with portpressure_netns_info")
        }
    }

    @Test("Nothing comes from what --web.disable-exporter-metrics removes: variables and panels work with every flag",
          arguments: Repository.dashboards)
    func independentOfExporterMetrics(file: String) throws {
        let dashboard = try Repository.json(file)
        let list = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        let exprs = DashboardLint.queries(in: dashboard).map(\.expr) + list.map(DashboardLint.variableQuery)
        for expr in exprs {
            for metric in MetricContract.exporterMetrics {
                #expect(!expr.contains(metric), "\(file): \(expr) uses \(metric)")
            }
        }
        for name in ["job", "instance"] {
            let query = DashboardLint.variableQuery(try #require(DashboardLint.variable(name, in: dashboard)))
            #expect(query.hasPrefix("label_values(portpressure_scrape_collector_success"), "\(file) \(name): \(query)")
        }
    }

    @Test("The host dashboard names the host it shows: the instance, which is the node name on Kubernetes")
    func hostDashboardShowsTheNode() throws {
        let dashboard = try Repository.json("dashboards/portpressure-host.json")
        let firstRow = try #require((dashboard["panels"] as? [[String: Any]])?.first)
        #expect(firstRow["type"] as? String == "row" && (firstRow["title"] as? String ?? "").contains("$instance"))
        let instance = try #require(DashboardLint.variable("instance", in: dashboard))
        #expect((instance["label"] as? String ?? "").contains("node"))
    }

    @Test("Links carry the chosen data source, job, instance and time range")
    func linksCarryTheVariables() throws {
        let fleet = try Repository.json("dashboards/portpressure-fleet.json")
        for link in fleet["links"] as? [[String: Any]] ?? [] {
            #expect(link["includeVars"] as? Bool == true && link["keepTime"] as? Bool == true, "\(link)")
        }
        // Every data link of a fleet table opens the host dashboard on that row's job and instance.
        let text = String(decoding: try JSONSerialization.data(withJSONObject: fleet), as: UTF8.self)
        let hostLinks = text.components(separatedBy: "\"url\":\"").dropFirst().map { $0.prefix { $0 != "\"" } }
            .map { $0.replacingOccurrences(of: "\\/", with: "/") }.filter { $0.hasPrefix("/d/portpressure-host/") }
        #expect(hostLinks.count >= 4)
        for url in hostLinks {
            for part in ["${__url_time_range}", "var-datasource=${datasource}", "var-job=${__data.fields.job}",
                         "var-instance=${__data.fields.instance}"] {
                #expect(url.contains(part), "\(url) lacks \(part)")
            }
        }
        let host = try Repository.json("dashboards/portpressure-host.json")
        let back = try #require((host["links"] as? [[String: Any]])?.first { ($0["url"] as? String ?? "").hasPrefix("/d/portpressure-fleet/") })
        for part in ["${__url_time_range}", "var-datasource=${datasource}", "var-job=${job}"] {
            #expect((back["url"] as? String ?? "").contains(part))
        }
    }

    @Test("The fleet dashboard ranks hosts, shows overshadowing and probe failures by host")
    func fleetDashboardCoversTheIssue() throws {
        let dashboard = try Repository.json("dashboards/portpressure-fleet.json")
        let exprs = DashboardLint.queries(in: dashboard).map(\.expr)
        #expect(exprs.contains { $0.hasPrefix("sort_desc(max by (job, instance) (") && $0.contains("portpressure_ephemeral_ports_limit")
            && $0.contains("portpressure_destination_ephemeral_ports_max") && $0.contains("portpressure_namespace_bound_ephemeral_ports") })
        #expect(exprs.contains { $0.contains(#"portpressure_namespace_ephemeral_ports_used{job="$job", instance=~"$instance", proto="udp"}"#) })
        #expect(exprs.contains { $0.contains("portpressure_udp_overshadowed_sockets") && $0.contains("by (job, instance)") })
        #expect(exprs.contains { $0.contains("portpressure_probe_failures_total") && $0.contains("by (instance, reason)") })
        // The fleet's instance variable takes many hosts at once.
        let instance = try #require(DashboardLint.variable("instance", in: dashboard))
        #expect(instance["multi"] as? Bool == true && instance["includeAll"] as? Bool == true)
    }

    // MARK: The lint itself can fail

    /// The host dashboard with one change applied to its first panel that has a rate (or any panel).
    func mutatedHostDashboard(_ change: (inout [String: Any]) -> Void) throws -> [String] {
        var dashboard = try Repository.json("dashboards/portpressure-host.json")
        change(&dashboard)
        return DashboardLint.problems(in: dashboard)
    }

    static func editFirstQuery(_ dashboard: inout [String: Any], containing needle: String, _ edit: (String) -> String) {
        var panels = dashboard["panels"] as! [[String: Any]]
        for (p, panel) in panels.enumerated() {
            guard var targets = panel["targets"] as? [[String: Any]] else { continue }
            for (t, target) in targets.enumerated() where (target["expr"] as? String ?? "").contains(needle) {
                targets[t]["expr"] = edit(target["expr"] as! String)
                panels[p]["targets"] = targets
                dashboard["panels"] = panels
                return
            }
        }
    }

    @Test("The lint catches a missing unit, data source, filter, $__rate_interval, and an editable dashboard")
    func lintCatchesEachViolation() throws {
        #expect(try mutatedHostDashboard { _ in }.isEmpty)

        let noUnit = try mutatedHostDashboard { dashboard in
            var panels = dashboard["panels"] as! [[String: Any]]
            let index = panels.firstIndex { $0["type"] as? String != "row" }!
            var fieldConfig = panels[index]["fieldConfig"] as! [String: Any]
            var defaults = fieldConfig["defaults"] as! [String: Any]
            defaults["unit"] = nil
            fieldConfig["defaults"] = defaults
            panels[index]["fieldConfig"] = fieldConfig
            dashboard["panels"] = panels
        }
        #expect(noUnit.contains { $0.hasSuffix("no unit") }, "\(noUnit)")

        let noDatasource = try mutatedHostDashboard { dashboard in
            var panels = dashboard["panels"] as! [[String: Any]]
            let index = panels.firstIndex { $0["type"] as? String != "row" }!
            panels[index]["datasource"] = nil
            dashboard["panels"] = panels
        }
        #expect(noDatasource.contains { $0.contains("data source is not $datasource") }, "\(noDatasource)")

        let unfiltered = try mutatedHostDashboard { dashboard in
            Self.editFirstQuery(&dashboard, containing: "portpressure_sockets{") {
                $0.replacingOccurrences(of: ", instance=\"$instance\"", with: "")
            }
        }
        #expect(unfiltered.contains { $0.contains("is not filtered by instance") }, "\(unfiltered)")

        let fixedRate = try mutatedHostDashboard { dashboard in
            Self.editFirstQuery(&dashboard, containing: "$__rate_interval") {
                $0.replacingOccurrences(of: "$__rate_interval", with: "5m")
            }
        }
        #expect(fixedRate.contains { $0.contains("instead of [$__rate_interval]") }, "\(fixedRate)")

        let editable = try mutatedHostDashboard { $0["editable"] = true }
        #expect(editable == ["editable is not false"])

        let noJobVariable = try mutatedHostDashboard { dashboard in
            var templating = dashboard["templating"] as! [String: Any]
            templating["list"] = (templating["list"] as! [[String: Any]]).filter { $0["name"] as? String != "job" }
            dashboard["templating"] = templating
        }
        #expect(noJobVariable.contains("no job variable"))
    }

    @Test("A multi-valued instance variable needs =~")
    func lintRequiresRegexMatchForMultiValues() throws {
        let selector = try #require(try PromQLSelectors.selectors(in: #"up{job="$job", instance="$instance"}"#).first)
        #expect(DashboardLint.selectorProblems(selector, query: "q", jobIsMulti: false, instanceIsMulti: false).isEmpty)
        #expect(DashboardLint.selectorProblems(selector, query: "q", jobIsMulti: false, instanceIsMulti: true).count == 1)
    }

    @Test("promtool rejects a broken expression the same way (the parse check can fail)")
    func promtoolRejectsABrokenExpression() throws {
        let rules = RuleFile(groups: [RuleGroup(name: "dashboard", rules: [
            Rule(record: "dashboard:ok", expr: "up"),
            Rule(record: "dashboard:broken", expr: "sum by (instance (up)"),
        ])])
        #expect(try promtoolCheckRules(rules).status != 0)
    }
}
