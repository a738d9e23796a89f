import Foundation
import Testing
import TestSupport

/// A systemd unit file as (section, key, value) assignments, in order.
struct UnitFile {
    var assignments: [(section: String, key: String, value: String)] = []

    init(_ text: String) {
        var section = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") { section = String(line.dropFirst().dropLast()); continue }
            guard let equals = line.firstIndex(of: "=") else { continue }
            assignments.append((section, String(line[..<equals]), String(line[line.index(after: equals)...])))
        }
    }

    func values(_ key: String, in section: String = "Service") -> [String] {
        assignments.filter { $0.section == section && $0.key == key }.map(\.value)
    }

    func value(_ key: String, in section: String = "Service") -> String? { values(key, in: section).last }
}

@Suite("systemd unit: deploy/systemd")
struct SystemdUnitTests {
    /// The unit with ExecStart pointing at an executable that exists here: `systemd-analyze verify`
    /// refuses a unit whose binary is missing, and /usr/local/bin/portpressure is not installed on
    /// a build machine. Everything else is the shipped unit, byte for byte.
    static func verifiableCopy(in directory: URL, unit text: String) throws -> URL {
        let installed = "/usr/local/bin/portpressure"
        #expect(text.contains("ExecStart=\(installed) serve"))
        let copy = directory.appendingPathComponent("portpressure.service")
        try text.replacingOccurrences(of: "ExecStart=\(installed)", with: "ExecStart=/bin/true")
            .write(to: copy, atomically: true, encoding: .utf8)
        return copy
    }

    @Test("systemd-analyze verify: clean, with no diagnostic at all")
    func verifyIsClean() throws {
        let text = try Repository.text(Repository.systemdUnit)
        let result = try withTemporaryDirectory("pp-unit") { directory in
            try Tool.run(["systemd-analyze", "verify", Self.verifiableCopy(in: directory, unit: text).path])
        }
        // verify exits 0 on unknown keys and unparsable values, printing a warning: any output fails.
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "\(result.stdout)\(result.stderr)")
    }

    @Test("systemd-analyze verify reports a misspelled directive and a bad value (the check can fail)")
    func verifyReportsMistakes() throws {
        let text = try Repository.text(Repository.systemdUnit)
            .replacingOccurrences(of: "NoNewPrivileges=yes", with: "NoNewPrivilege=yes")
            .replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHome=sometimes")
        let result = try withTemporaryDirectory("pp-unit") { directory in
            try Tool.run(["systemd-analyze", "verify", Self.verifiableCopy(in: directory, unit: text).path])
        }
        #expect(result.stderr.contains("Unknown key") && result.stderr.contains("NoNewPrivilege"), "\(result.stderr)")
        #expect(result.stderr.contains("sometimes"), "\(result.stderr)")
    }

    @Test("systemd-analyze security rates the unit's exposure at most 2.0")
    func securityExposureIsLow() throws {
        let text = try Repository.text(Repository.systemdUnit)
        let result = try withTemporaryDirectory("pp-unit") { directory in
            try Tool.run(["systemd-analyze", "security", "--offline=true", "--threshold=20",
                          Self.verifiableCopy(in: directory, unit: text).path])
        }
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let overall = try #require(result.stdout.firstMatch(of: try Regex(#"Overall exposure level for portpressure.service: (\d+\.\d)"#)))
        let exposure = try #require(Double(String(overall.output[1].substring!)))
        #expect(exposure <= 2.0, "exposure \(exposure)")
    }

    @Test("Hardening the issue asks for, and nothing that would blind the exporter")
    func hardeningDirectives() throws {
        let unit = UnitFile(try Repository.text(Repository.systemdUnit))
        #expect(unit.value("DynamicUser") == "yes")
        #expect(unit.value("NoNewPrivileges") == "yes")
        #expect(unit.value("ProtectSystem") == "strict")
        #expect(unit.value("RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6 AF_NETLINK")
        #expect(unit.values("SystemCallFilter").first == "@system-service")
        #expect(unit.value("EnvironmentFile") == "-/etc/default/portpressure")
        // No capabilities: an empty bounding set and no ambient ones.
        #expect(unit.value("CapabilityBoundingSet") == "")
        #expect((unit.value("AmbientCapabilities") ?? "") == "")
        #expect(unit.value("User") == nil && unit.value("Group") == nil)
        #expect(unit.value("ExecStart") == "/usr/local/bin/portpressure serve $PORTPRESSURE_ARGS")
        // The exporter watches the host's sockets, reports their owners' uids and reads /proc/sys.
        #expect(unit.value("PrivateNetwork").map { $0 == "no" } ?? true)
        #expect(unit.value("PrivateUsers").map { $0 == "no" } ?? true)
        #expect(unit.value("ProcSubset").map { $0 == "all" } ?? true)
        #expect(unit.value("WantedBy", in: "Install") == "multi-user.target")
    }

    @Test("/etc/default/portpressure example sets PORTPRESSURE_ARGS to serve flags")
    func defaultsFile() throws {
        let lines = try Repository.text(Repository.systemdDefaults).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.hasPrefix("PORTPRESSURE_ARGS=\"") && line.hasSuffix("\""))
        let flags = line.dropFirst("PORTPRESSURE_ARGS=\"".count).dropLast().split(separator: " ")
        #expect(!flags.isEmpty)
        for flag in flags {
            #expect(flag.hasPrefix("--web.") || flag.hasPrefix("--log.") || flag.hasPrefix("--collector.") || flag.hasPrefix("--config."), "\(flag)")
        }
    }
}
