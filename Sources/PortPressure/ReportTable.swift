import SocketModel

/// The human view of a `Snapshot`, for a person in the middle of an incident: the range,
/// sockets by state, ephemeral-port use per local address with a percentage bar, the top
/// destinations, duplicate UDP 4-tuples (who receives, who is overshadowed) and the top
/// owners, in aligned columns. ANSI color only when `color` is set (the caller decides,
/// e.g. from `isatty(1)` and `NO_COLOR`).
public struct ReportTable: Sendable {
    public var snapshot: Snapshot
    public var color: Bool
    /// Cells of the percentage bars.
    public var barWidth: Int

    public init(_ snapshot: Snapshot, color: Bool = false, barWidth: Int = 20) {
        self.snapshot = snapshot
        self.color = color
        self.barWidth = max(0, barWidth)
    }

    /// The whole report, ending with a newline.
    public func render() -> String {
        let sections = [rangeSection(), socketsSection(), sourcesSection(), destinationsSection(),
                        duplicatesSection(), ownersSection()]
        return sections.map { $0.joined(separator: "\n") }.joined(separator: "\n\n") + "\n"
    }

    private func styled(_ text: String, _ style: TextStyle) -> String {
        color ? style.apply(text) : text
    }

    private func title(_ text: String, _ detail: String = "") -> String {
        styled(text, .bold) + (detail.isEmpty ? "" : "  " + detail)
    }

    private var limit: Int { snapshot.range.limit }

    // MARK: Sections

    private func rangeSection() -> [String] {
        let r = snapshot.range
        var lines = [title("Ephemeral ports",
                           "range \(r.low)-\(r.high)  reserved \(r.reservedInRange)  limit \(r.limit)")]
        var table = TextTable([("PROTO", .left), ("PORTS IN USE", .right), ("USE", .right), ("BOUND", .right)])
        for p in snapshot.protocols {
            table.append([.init(p.proto.name), .init("\(p.portsUsed)/\(limit)"),
                          .init(ReportFormat.percent(p.portsUsed, of: limit), ReportFormat.style(p.portsUsed, of: limit)),
                          .init("\(p.boundPorts)")])
        }
        lines += table.render(color: color, indent: "  ")
        lines.append(styled("  (port numbers held on any address; BOUND ones are out of connect()'s pool everywhere)", .dim))
        return lines
    }

    private func socketsSection() -> [String] {
        let nonZero = snapshot.sockets.filter { $0.count > 0 }
        let lines = [title("Sockets", "\(snapshot.recordCount) in all")]
        guard !nonZero.isEmpty else { return lines + ["  none"] }
        var table = TextTable([("PROTO", .left), ("FAMILY", .left), ("STATE", .left), ("COUNT", .right)])
        for c in nonZero {
            table.append([.init(c.proto.name), .init(c.family.name), .init(c.state), .init("\(c.count)")])
        }
        return lines + table.render(color: color, indent: "  ")
    }

    private func sourcesSection() -> [String] {
        let used = snapshot.sources
            .filter { $0.portsUsed > 0 }
            .sorted { a, b in
                a.portsUsed != b.portsUsed ? a.portsUsed > b.portsUsed : (a.proto, a.localAddress) < (b.proto, b.localAddress)
            }
        let idle = snapshot.sources.count - used.count
        let lines = [title("Ephemeral ports per local address",
                           idle > 0 ? "(\(idle) more without ephemeral ports not shown)" : "")]
        guard !used.isEmpty else { return lines + ["  none"] }
        var table = TextTable([
            ("PROTO", .left), ("FAMILY", .left), ("LOCAL ADDRESS", .left), ("USED/LIMIT", .right),
            ("USE", .right), ("", .left), ("SOCKETS", .right), ("BOUND", .right),
            ("DESTINATIONS", .right), ("MAX/DEST", .right),
        ])
        for s in used {
            let style = ReportFormat.style(s.portsUsed, of: limit)
            table.append([
                .init(s.proto.name), .init(s.family.name), .init(s.localAddress.description),
                .init("\(s.portsUsed)/\(limit)"), .init(ReportFormat.percent(s.portsUsed, of: limit), style),
                .init(ReportFormat.bar(s.portsUsed, of: limit, width: barWidth), style),
                .init("\(s.sockets)"), .init("\(s.boundPorts)"), .init("\(s.destinationCount)"),
                .init("\(s.maxDestinationPortsUsed)"),
            ])
        }
        return lines + table.render(color: color, indent: "  ")
    }

    private func destinationsSection() -> [String] {
        let top = snapshot.topDestinations
        let lines = [title("Top destinations", "\(top.count) of \(snapshot.destinationCount)")]
        guard !top.isEmpty else { return lines + ["  none"] }
        var table = TextTable([
            ("PROTO", .left), ("LOCAL ADDRESS", .left), ("DESTINATION", .left), ("USED/LIMIT", .right),
            ("USE", .right), ("", .left), ("SOCKETS", .right),
        ])
        for d in top {
            let style = ReportFormat.style(d.portsUsed, of: limit)
            table.append([
                .init(d.proto.name), .init(d.localAddress.description),
                .init(SocketEndpoint(address: d.remoteAddress, port: d.remotePort).description),
                .init("\(d.portsUsed)/\(limit)"), .init(ReportFormat.percent(d.portsUsed, of: limit), style),
                .init(ReportFormat.bar(d.portsUsed, of: limit, width: barWidth), style),
                .init("\(d.sockets)"),
            ])
        }
        return lines + table.render(color: color, indent: "  ")
    }

    private func duplicatesSection() -> [String] {
        let totals = snapshot.udpDuplicateTotals.map { t in
            "\(t.family.name): \(t.tuples) tuple\(t.tuples == 1 ? "" : "s"), \(t.overshadowedSockets) overshadowed"
        }.joined(separator: "; ")
        var lines = [title("Duplicate UDP 4-tuples", totals)]
        let duplicates = snapshot.udpDuplicates
        guard !duplicates.isEmpty else { return lines + ["  none"] }
        let shown = duplicates.count
        let all = snapshot.udpDuplicateTotals.reduce(0) { $0 + $1.tuples }
        if shown < all { lines[0] += "  (\(shown) of \(all) shown)" }
        var table = TextTable([
            ("LOCAL", .left), ("REMOTE", .left), ("UID", .right), ("INODE", .right),
            ("COOKIE", .right), ("IF", .right), ("RECEIVES", .left),
        ])
        var notes: [String] = []
        for d in duplicates {
            for (i, socket) in d.sockets.enumerated() {
                let receives: TextTable.Cell = switch socket.receives {
                case true?: .init("yes", .green)
                case false?: .init("no (overshadowed)", .boldRed)
                case nil: .init("unknown", .yellow)
                }
                table.append([
                    .init(i == 0 ? d.local.description : ""), .init(i == 0 ? d.remote.description : ""),
                    .init("\(socket.uid)"), .init("\(socket.inode)"), .init("\(socket.cookie)"),
                    .init("\(socket.interfaceIndex)"), receives,
                ])
            }
            switch d.receiver {
            case let .socket(cookie) where !d.sockets.contains(where: { $0.cookie == cookie }):
                notes.append("\(d.tuple): the kernel delivers to socket cookie \(cookie), outside this group")
            case .noSocket:
                notes.append("\(d.tuple): the kernel finds no socket for this tuple")
            case let .failed(reason):
                notes.append("\(d.tuple): receiver lookup failed: \(reason)")
            default:
                break
            }
        }
        lines += table.render(color: color, indent: "  ")
        lines += notes.map { styled("  note: " + $0, .dim) }
        return lines
    }

    private func ownersSection() -> [String] {
        let owners = snapshot.owners
        var lines = [title("Top owners", "\(owners.count) of \(snapshot.ownerCount)")]
        guard !owners.isEmpty else { return lines + ["  none"] }
        var table = TextTable([
            ("PROTO", .left), ("UID", .right), ("CGROUP", .left), ("PORTS", .right), ("USE", .right),
            ("SOCKETS", .right),
        ])
        for o in owners {
            let cgroup = o.cgroupPath ?? o.cgroupID.map { "id \($0)" } ?? "-"
            table.append([
                .init(o.proto.name), .init(o.uid.map { "\($0)" } ?? "-"), .init(cgroup),
                .init("\(o.portsUsed)"), .init(ReportFormat.percent(o.portsUsed, of: limit)), .init("\(o.sockets)"),
            ])
        }
        lines += table.render(color: color, indent: "  ")
        if owners.contains(where: { $0.uid == nil }) {
            lines.append(styled("  (uid -: TIME_WAIT and request sockets, which the kernel reports without an owner)", .dim))
        }
        return lines
    }
}
