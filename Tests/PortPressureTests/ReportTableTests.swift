import Testing
import SocketModel
@testable import PortPressure

/// Removes ANSI SGR sequences.
func strippingANSI(_ text: String) -> String {
    var out = ""
    var inEscape = false
    for ch in text {
        if inEscape {
            if ch == "m" { inEscape = false }
        } else if ch == "\u{1b}" {
            inEscape = true
        } else {
            out.append(ch)
        }
    }
    return out
}

/// The lines of the section whose title starts with `title`, up to the next blank line.
func section(_ report: String, _ title: String) -> [String] {
    let lines = report.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let start = lines.firstIndex(where: { $0.hasPrefix(title) }) else { return [] }
    let end = lines[start...].firstIndex(of: "") ?? lines.endIndex
    return Array(lines[start..<end])
}

@Suite struct ReportFormatTests {
    @Test func percentRoundsToTenths() {
        #expect(ReportFormat.percent(0, of: 89) == "0.0%")
        #expect(ReportFormat.percent(15, of: 89) == "16.9%")
        #expect(ReportFormat.percent(1, of: 3) == "33.3%")
        #expect(ReportFormat.percent(2, of: 3) == "66.7%")
        #expect(ReportFormat.percent(28232, of: 28232) == "100.0%")
        #expect(ReportFormat.percent(5, of: 0) == "-")
    }

    @Test func barFillsProportionallyRoundingUpAndCaps() {
        #expect(ReportFormat.bar(0, of: 100, width: 10) == "[..........]")
        #expect(ReportFormat.bar(1, of: 100, width: 10) == "[#.........]")   // any use shows
        #expect(ReportFormat.bar(50, of: 100, width: 10) == "[#####.....]")
        #expect(ReportFormat.bar(100, of: 100, width: 10) == "[##########]")
        #expect(ReportFormat.bar(150, of: 100, width: 10) == "[##########]")
        #expect(ReportFormat.bar(3, of: 0, width: 4) == "[....]")
        #expect(ReportFormat.bar(3, of: 10, width: 0) == "")
    }

    @Test func styleThresholds() {
        #expect(ReportFormat.style(69, of: 100) == .green)
        #expect(ReportFormat.style(70, of: 100) == .yellow)
        #expect(ReportFormat.style(89, of: 100) == .yellow)
        #expect(ReportFormat.style(90, of: 100) == .red)
        #expect(ReportFormat.style(0, of: 0) == .red)
    }
}

@Suite struct TextTableTests {
    @Test func columnsAlignLeftAndRight() {
        var t = TextTable([("NAME", .left), ("N", .right), ("NOTE", .left)])
        t.append([.init("a"), .init("12345"), .init("x")])
        t.append([.init("longer name"), .init("7"), .init("")])
        let lines = t.render(color: false)
        #expect(lines == [
            "NAME             N  NOTE",
            "a            12345  x",
            "longer name      7",
        ])
    }

    @Test func colorDoesNotChangeAlignment() {
        var t = TextTable([("A", .left), ("B", .right), ("C", .left)])
        t.append([.init("x", .red), .init("1", .green), .init("tail", .bold)])
        t.append([.init("yyyy"), .init("100"), .init("z")])
        let colored = t.render(color: true)
        #expect(colored[1].contains("\u{1b}[31mx\u{1b}[0m"))
        #expect(colored.map(strippingANSI) == t.render(color: false))
    }
}

@Suite struct ReportTableTests {
    let report = ReportTable(sampleSnapshot()).render()

    @Test func headerShowsTheRange() {
        #expect(report.hasPrefix("Ephemeral ports  range 40000-40099  reserved 11  limit 89\n"))
        #expect(report.hasSuffix("\n"))
        #expect(!report.contains("\u{1b}"))
    }

    @Test func sourcesTableHasUseAndBarAlignedUnderHeaders() throws {
        let lines = section(report, "Ephemeral ports per local address")
        #expect(lines.count == 5)   // title, header, three addresses
        #expect(lines[0].contains("(1 more without ephemeral ports not shown)"))
        let header = lines[1]
        let first = lines[2]
        #expect(first.contains("10.0.0.1"))
        #expect(first.contains("15/89"))
        #expect(first.contains("16.9%"))
        #expect(first.contains("[####................]"))
        // Right-aligned columns end where their header ends.
        for column in ["USED/LIMIT", "SOCKETS", "DESTINATIONS", "MAX/DEST"] {
            let end = try #require(header.range(of: column)).upperBound.utf16Offset(in: header)
            for row in lines[2...] {
                let index = row.index(row.startIndex, offsetBy: end - 1)
                #expect(row[index] != " ", "\(column) in \(row)")
                let next = row.index(after: index)
                #expect(next == row.endIndex || row[next] == " ", "\(column) in \(row)")
            }
        }
        // Busiest first.
        #expect(lines[2].contains("tcp    ipv4    10.0.0.1"))
        #expect(lines[3].contains("2001:db8::1"))
    }

    @Test func socketsShowOnlyNonZeroStates() {
        let lines = section(report, "Sockets")
        #expect(lines[0] == "Sockets  20 in all")
        #expect(lines.dropFirst(2).map { $0.split(separator: " ").map(String.init) } == [
            ["tcp", "ipv4", "established", "9"],
            ["tcp", "ipv4", "time_wait", "5"],
            ["tcp", "ipv4", "listen", "2"],
            ["tcp", "ipv6", "established", "2"],
            ["udp", "ipv4", "established", "2"],
        ])
    }

    @Test func destinationsUseBracketedIPv6() {
        let lines = section(report, "Top destinations")
        #expect(lines[0] == "Top destinations  3 of 3")
        #expect(lines[2].contains("10.0.0.2:443") && lines[2].contains("14/89"))
        #expect(lines[3].contains("[2001:db8::2]:80"))
    }

    @Test func duplicatesSayWhoReceives() {
        let lines = section(report, "Duplicate UDP 4-tuples")
        #expect(lines[0] == "Duplicate UDP 4-tuples  ipv4: 1 tuple, 1 overshadowed; ipv6: 0 tuples, 0 overshadowed")
        #expect(lines.count == 4)
        #expect(lines[2].hasPrefix("  10.0.0.1:40040  10.0.0.3:53"))
        #expect(lines[2].hasSuffix("no (overshadowed)"))
        #expect(lines[3].hasSuffix("yes"))
        #expect(lines[3].contains("1001"))
        // Continuation rows leave the tuple columns blank.
        #expect(lines[3].hasPrefix("                               1001"))
    }

    @Test func duplicateNotesForUnusualReceivers() {
        let base = analyze([
            record(.udp, .established, "10.0.0.1:40040", "10.0.0.3:53", cookie: 1),
            record(.udp, .established, "10.0.0.1:40040", "10.0.0.3:53", cookie: 2),
        ])
        let elsewhere = ReportTable(base.resolvingReceivers { _ in .socket(cookie: 77) }).render()
        #expect(elsewhere.contains("the kernel delivers to socket cookie 77, outside this group"))
        #expect(section(elsewhere, "Duplicate").first?.hasSuffix("ipv4: 1 tuple, 2 overshadowed; ipv6: 0 tuples, 0 overshadowed") == true)
        let failed = ReportTable(base.resolvingReceivers { _ in .failed("EPERM") }).render()
        #expect(failed.contains("receiver lookup failed: EPERM"))
        #expect(section(failed, "Duplicate").filter { $0.hasSuffix("unknown") }.count == 2)
        let cut = ReportTable(analyze([
            record(.udp, .established, "10.0.0.1:40040", "10.0.0.3:53", cookie: 1),
            record(.udp, .established, "10.0.0.1:40040", "10.0.0.3:53", cookie: 2),
            record(.udp, .established, "10.0.0.1:40041", "10.0.0.3:53", cookie: 3),
            record(.udp, .established, "10.0.0.1:40041", "10.0.0.3:53", cookie: 4),
        ], options: AnalysisOptions(topUDPDuplicates: 1))).render()
        #expect(section(cut, "Duplicate").first?.hasSuffix("(1 of 2 shown)") == true)
    }

    @Test func ownersShowPathsAndUnknownOwners() {
        let lines = section(report, "Top owners")
        #expect(lines[0] == "Top owners  5 of 5")
        #expect(lines[2].contains("/system.slice/app.service"))
        #expect(lines[2].split(separator: " ").map(String.init) == ["tcp", "1000", "/system.slice/app.service", "10", "11.2%", "10"])
        #expect(lines[3].split(separator: " ").map(String.init) == ["tcp", "-", "-", "5", "5.6%", "5"])
        #expect(lines.last?.contains("TIME_WAIT and request sockets") == true)
    }

    @Test func emptySnapshotSaysNone() {
        let empty = ReportTable(analyze([])).render()
        for title in ["Sockets", "Ephemeral ports per local address", "Top destinations", "Duplicate UDP 4-tuples", "Top owners"] {
            #expect(section(empty, title).last == "  none", "\(title)")
        }
    }

    @Test func colorOnlyWhenAskedAndAlignmentUnchanged() {
        let colored = ReportTable(sampleSnapshot(), color: true).render()
        #expect(colored.contains("\u{1b}[1mEphemeral ports\u{1b}[0m"))
        #expect(colored.contains("\u{1b}[1;31mno (overshadowed)\u{1b}[0m"))
        #expect(colored.contains("\u{1b}[32m16.9%\u{1b}[0m"))
        #expect(strippingANSI(colored) == report)
    }

    @Test func barWidthIsConfigurable() {
        let narrow = ReportTable(sampleSnapshot(), barWidth: 5).render()
        #expect(narrow.contains("[#....]"))
        #expect(!narrow.contains("[#...................]"))
    }
}
