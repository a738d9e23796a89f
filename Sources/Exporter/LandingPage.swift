import PortPressure
import Snapshotting

/// The HTML page at `/`: what this is, where the metrics are, and the current top pressures.
struct LandingPage {
    var version: String
    var telemetryPath: String
    var collectors: [String]
    var result: ScrapeResult?

    func render() -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>portpressure</title>
            <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
            td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}td.n{text-align:right}</style>
            </head><body>
            <h1>portpressure</h1>
            <p>Ephemeral-port pressure exporter, version \(escape(version)).</p>
            <p><a href="\(escape(telemetryPath))">Metrics</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a></p>
            <p>Collectors: \(escape(collectors.joined(separator: ", ")))</p>

            """
        if let result {
            if let failed = result.collectors.first(where: { $0.error != nil }), let error = failed.error {
                html += "<p><strong>Collector \(escape(failed.name)) failed:</strong> \(escape(error))</p>\n"
            }
            if let snapshot = result.snapshot?.snapshot {
                html += table(snapshot)
            }
            if let namespaces = result.namespaces {
                html += table(namespaces)
            }
        }
        html += "</body></html>\n"
        return html
    }

    private func table(_ snapshot: Snapshot) -> String {
        let limit = snapshot.range.limit
        var html = "<h2>Top port pressures</h2>\n<p>Ephemeral range \(snapshot.range.low)–\(snapshot.range.high), "
        html += "\(snapshot.range.reservedInRange) reserved, limit \(limit) ports.</p>\n"
        html += "<table><tr><th>Protocol</th><th>Local address</th><th>Ports used</th><th>Of limit</th>"
        html += "<th>Busiest destination</th><th>Its ports</th></tr>\n"
        let sources = snapshot.sources.sorted { $0.portsUsed > $1.portsUsed }.prefix(10)
        for source in sources {
            let percent = limit > 0 ? Double(source.portsUsed) * 100 / Double(limit) : 0
            let busiest = source.topDestinations.first
            let destination = busiest.map { "\($0.remoteAddress.family == .ipv6 ? "[\($0.remoteAddress)]" : "\($0.remoteAddress)"):\($0.remotePort)" } ?? "–"
            html += "<tr><td>\(source.proto.name)</td><td>\(escape(source.localAddress.description))</td>"
            html += "<td class=n>\(source.portsUsed)</td><td class=n>\(printfFormat("%.1f%%", percent))</td>"
            html += "<td>\(escape(destination))</td><td class=n>\(source.maxDestinationPortsUsed)</td></tr>\n"
        }
        if sources.isEmpty { html += "<tr><td colspan=6>No sockets hold ephemeral ports.</td></tr>\n" }
        html += "</table>\n"
        return html
    }

    /// `--collector.netns`: the namespaces of highest pressure, as `report --all-namespaces` ranks them.
    private func table(_ namespaces: NamespacesSnapshot) -> String {
        var html = "<h2>Network namespaces</h2>\n<p>\(namespaces.discovered) discovered, \(namespaces.exportedCount) exported; "
        html += "highest ports used toward one destination / limit (≤: a bound, not dumped).</p>\n"
        html += "<table><tr><th>netns</th><th>Name</th><th>Pod UID</th><th>Container</th><th>Limit</th><th>TCP</th><th>UDP</th></tr>\n"
        func cell(_ figures: ProtocolFigures) -> String {
            "<td class=n>\(figures.exact ? "" : "≤")\(printfFormat("%.1f%%", figures.pressure * 100))</td>"
        }
        for namespace in namespaces.measured.prefix(10) {
            let summary = namespace.summary
            html += "<tr><td>\(summary.netns)</td><td>\(escape(summary.name))</td><td>\(escape(summary.podUID ?? ""))</td>"
            html += "<td>\(escape(String((summary.containerID ?? "").prefix(12))))</td><td class=n>\(summary.snapshot.range.limit)</td>"
            html += cell(summary.tcp) + cell(summary.udp) + "</tr>\n"
        }
        html += "</table>\n"
        return html
    }

    private func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
