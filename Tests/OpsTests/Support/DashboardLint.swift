import Foundation

/// One query of a dashboard panel.
struct DashboardQuery: CustomStringConvertible {
    var panelID: Int
    var panelTitle: String
    var refID: String
    var expr: String

    var description: String { "panel \(panelID) \"\(panelTitle)\" query \(refID)" }
}

/// The Grafana conventions every portpressure dashboard follows, checked on the JSON model.
enum DashboardLint {
    /// Functions whose range must follow the scrape interval: `$__rate_interval`.
    static let rateFunctions: Set<String> = ["rate", "irate", "increase"]

    /// Every panel, rows' nested panels included, rows themselves excluded.
    static func dataPanels(of dashboard: [String: Any]) -> [[String: Any]] {
        var result: [[String: Any]] = []
        func walk(_ panels: [[String: Any]]) {
            for panel in panels {
                if panel["type"] as? String == "row" {
                    walk(panel["panels"] as? [[String: Any]] ?? [])
                } else {
                    result.append(panel)
                }
            }
        }
        walk(dashboard["panels"] as? [[String: Any]] ?? [])
        return result
    }

    static func queries(in dashboard: [String: Any]) -> [DashboardQuery] {
        dataPanels(of: dashboard).flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).map { target in
                DashboardQuery(panelID: panel["id"] as? Int ?? -1, panelTitle: panel["title"] as? String ?? "",
                               refID: target["refId"] as? String ?? "?", expr: target["expr"] as? String ?? "")
            }
        }
    }

    static func variable(_ name: String, in dashboard: [String: Any]) -> [String: Any]? {
        let list = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        return list.first { $0["name"] as? String == name }
    }

    /// A variable's query text, whether Grafana stored it as a string or as `{query: ...}`.
    static func variableQuery(_ variable: [String: Any]) -> String {
        if let text = variable["query"] as? String { return text }
        return (variable["query"] as? [String: Any])?["query"] as? String ?? ""
    }

    /// Grafana's substitution of the variables, for one job and instance.
    static func substitute(_ expr: String, job: String, instance: String, rateInterval: String) -> String {
        expr.replacingOccurrences(of: "$__rate_interval", with: rateInterval)
            .replacingOccurrences(of: "${job}", with: job)
            .replacingOccurrences(of: "$job", with: job)
            .replacingOccurrences(of: "${instance}", with: instance)
            .replacingOccurrences(of: "$instance", with: instance)
            // `netns` (multi-valued, All = .*): every namespace.
            .replacingOccurrences(of: "${netns}", with: ".*")
            .replacingOccurrences(of: "$netns", with: ".*")
    }

    static func isDatasourceReference(_ value: Any?) -> Bool {
        guard let reference = value as? [String: Any] else { return false }
        return reference["type"] as? String == "prometheus"
            && ["${datasource}", "$datasource"].contains(reference["uid"] as? String ?? "")
    }

    /// Every convention the dashboard breaks, one line each; empty when it follows them all.
    static func problems(in dashboard: [String: Any]) -> [String] {
        var problems: [String] = []
        if (dashboard["uid"] as? String ?? "").isEmpty { problems.append("no uid") }
        if (dashboard["title"] as? String ?? "").isEmpty { problems.append("no title") }
        if dashboard["editable"] as? Bool != false { problems.append("editable is not false") }

        // Variables: the data source, then job and instance from it, instance filtered by job.
        if let datasource = variable("datasource", in: dashboard) {
            if datasource["type"] as? String != "datasource" || datasource["query"] as? String != "prometheus" {
                problems.append("variable datasource is not a Prometheus data source variable")
            }
        } else {
            problems.append("no datasource variable")
        }
        for name in ["job", "instance"] {
            guard let v = variable(name, in: dashboard) else { problems.append("no \(name) variable"); continue }
            if v["type"] as? String != "query" { problems.append("variable \(name) is not a query variable") }
            if !isDatasourceReference(v["datasource"]) { problems.append("variable \(name) does not use $datasource") }
            let query = variableQuery(v)
            if !query.hasPrefix("label_values(") || !query.contains("portpressure_") {
                problems.append("variable \(name) does not take label values of a portpressure metric: \(query)")
            }
            if name == "instance" && !query.contains("$job") {
                problems.append("variable instance is not filtered by $job: \(query)")
            }
        }
        let instanceIsMulti = (variable("instance", in: dashboard)?["multi"] as? Bool ?? false)
            || (variable("instance", in: dashboard)?["includeAll"] as? Bool ?? false)
        let jobIsMulti = (variable("job", in: dashboard)?["multi"] as? Bool ?? false)
            || (variable("job", in: dashboard)?["includeAll"] as? Bool ?? false)

        var ids: Set<Int> = []
        for panel in dataPanels(of: dashboard) {
            let id = panel["id"] as? Int ?? -1
            let name = "panel \(id) \"\(panel["title"] as? String ?? "")\""
            if !ids.insert(id).inserted { problems.append("\(name): duplicate id") }
            if panel["gridPos"] == nil { problems.append("\(name): no gridPos") }
            if !isDatasourceReference(panel["datasource"]) { problems.append("\(name): data source is not $datasource") }
            let defaults = (panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any]
            if (defaults?["unit"] as? String ?? "").isEmpty { problems.append("\(name): no unit") }
            let targets = panel["targets"] as? [[String: Any]] ?? []
            if targets.isEmpty { problems.append("\(name): no query") }
            for target in targets {
                let query = "\(name) query \(target["refId"] as? String ?? "?")"
                if !isDatasourceReference(target["datasource"]) { problems.append("\(query): data source is not $datasource") }
                let expr = target["expr"] as? String ?? ""
                let selectors: [VectorSelector]
                do { selectors = try PromQLSelectors.selectors(in: expr) } catch {
                    problems.append("\(query): \(error)")
                    continue
                }
                if selectors.isEmpty { problems.append("\(query): no selector") }
                for selector in selectors {
                    problems += selectorProblems(selector, query: query, jobIsMulti: jobIsMulti, instanceIsMulti: instanceIsMulti)
                }
            }
        }
        return problems
    }

    static func selectorProblems(_ selector: VectorSelector, query: String, jobIsMulti: Bool, instanceIsMulti: Bool) -> [String] {
        var problems: [String] = []
        for (label, multi) in [("job", jobIsMulti), ("instance", instanceIsMulti)] {
            guard let matcher = selector.matcher(label), matcher.value == "$\(label)" || matcher.value == "${\(label)}" else {
                problems.append("\(query): \(selector) is not filtered by \(label)=\"$\(label)\"")
                continue
            }
            // A multi-value or All variable expands to a regex alternation: only =~ matches it.
            let allowed = multi ? ["=~"] : ["=", "=~"]
            if !allowed.contains(matcher.op) {
                problems.append("\(query): \(selector) matches \(label) with \(matcher.op) but the variable is multi-valued")
            }
        }
        if let function = selector.function, rateFunctions.contains(function), selector.range != "$__rate_interval" {
            problems.append("\(query): \(function)() over [\(selector.range ?? "")] instead of [$__rate_interval]")
        }
        return problems
    }
}
