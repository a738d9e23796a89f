import Foundation
import Testing
import TestSupport

/// The package `scripts/package-deb` builds, checked as an SRE would meet it: its control
/// fields, files and modes, lintian, then installed with dpkg on this machine, run, its units
/// verified where they were installed, and purged without a trace.
///
/// Serialized: installing and purging change the machine's package database. The package is
/// built once (a release build with the static Swift runtime: minutes) and shared.
@Suite(.serialized) struct DebianPackageTests {
    /// The subcommands, each of which gets a man page.
    static let subcommands = ["report", "serve", "connect", "probe"]

    @Test("Control fields: name, version from git, this architecture, Depends exactly the libraries the binary links")
    func controlFields() throws {
        let package = try BuiltPackage.shared()
        let fields = try package.controlFields()
        #expect(fields["Package"] == "portpressure")
        #expect(fields["Version"] == package.expectedVersion, "\(fields)")
        #expect(fields["Architecture"] == (try Tool.run(["dpkg", "--print-architecture"]).stdout.trimmed))
        #expect(fields["Section"] == "net" && fields["Priority"] == "optional")
        #expect(fields["Maintainer"]?.contains("<") == true && fields["Description"]?.isEmpty == false)
        #expect(Int(fields["Installed-Size"] ?? "") ?? 0 > 1000)

        // Depends, found independently of dpkg-shlibdeps: the binary's NEEDED entries, each
        // resolved to a file by the dynamic linker's cache and to its package by dpkg -S.
        let binary = try package.extractedFile("usr/bin/portpressure")
        let needed = try Tool.run(["objdump", "-p", binary.path]).stdout.split(separator: "\n")
            .compactMap { line -> String? in
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                return words.count == 2 && words[0] == "NEEDED" ? String(words[1]) : nil
            }
        #expect(!needed.isEmpty)
        #expect(needed.allSatisfy { !$0.hasPrefix("libswift") && !$0.hasPrefix("libFoundation") && !$0.hasPrefix("lib_Foundation") },
                "\(needed)")
        let cache = try Tool.run(["ldconfig", "-p"]).stdout.split(separator: "\n").map(\.trimmed)
        var expected: Set<String> = []
        for library in needed {
            let line = try #require(cache.first { $0.hasPrefix(library + " (") }, "\(library) is not in the dynamic linker's cache")
            let path = try #require(line.components(separatedBy: " => ").last)
            // dpkg knows a library by the path its package ships it at: with /lib merged into
            // /usr/lib, that may be the /lib spelling of the linker's real path.
            let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            let candidates = [path, real, real.replacingOccurrences(of: "/usr/lib/", with: "/lib/")]
            let owner = try candidates.lazy.map { try Tool.run(["dpkg", "-S", $0]) }.first { $0.status == 0 }
            let package = try #require(owner?.stdout.split(separator: ":").first, "no package owns \(candidates)")
            expected.insert(String(package))
        }
        let declared = Set((fields["Depends"] ?? "").split(separator: ",").map {
            String($0.trimmed.split(separator: " ").first ?? "")
        })
        #expect(declared == expected, "Depends: \(fields["Depends"] ?? "-"); the binary links \(needed) from \(expected)")
        #expect(expected.isSuperset(of: ["libc6", "libmicrohttpd12", "libmnl0", "zlib1g"]), "\(expected)")
    }

    @Test("Files and modes: binary, units, defaults, example, docs, a man page per subcommand, completions")
    func filesAndModes() throws {
        let package = try BuiltPackage.shared()
        let entries = try package.contents()
        #expect(entries.allSatisfy { $0.owner == "root/root" }, "\(entries.filter { $0.owner != "root/root" })")
        let files = Dictionary(entries.filter { !$0.mode.hasPrefix("d") }.map { ($0.path, $0.mode) }, uniquingKeysWith: { a, _ in a })
        var expected: [String: String] = [
            "/usr/bin/portpressure": "-rwxr-xr-x",
            "/lib/systemd/system/portpressure.service": "-rw-r--r--",
            "/lib/systemd/system/portpressure.socket": "-rw-r--r--",
            "/etc/default/portpressure": "-rw-r--r--",
            "/usr/share/doc/portpressure/examples/probes.example.yml": "-rw-r--r--",
            "/usr/share/doc/portpressure/copyright": "-rw-r--r--",
            "/usr/share/doc/portpressure/changelog.gz": "-rw-r--r--",
            "/usr/share/bash-completion/completions/portpressure": "-rw-r--r--",
            "/usr/share/zsh/vendor-completions/_portpressure": "-rw-r--r--",
            "/usr/share/fish/vendor_completions.d/portpressure.fish": "-rw-r--r--",
            "/usr/share/man/man1/portpressure.1.gz": "-rw-r--r--",
        ]
        for subcommand in Self.subcommands {
            expected["/usr/share/man/man1/portpressure-\(subcommand).1.gz"] = "-rw-r--r--"
        }
        #expect(files == expected, "unexpected: \(files.filter { expected[$0.key] != $0.value }); missing: \(expected.keys.filter { files[$0] == nil })")
        // Every directory is 0755; nothing is set-id or world-writable.
        #expect(entries.filter { $0.mode.hasPrefix("d") }.allSatisfy { $0.mode == "drwxr-xr-x" })

        let control = try package.controlArchive()
        #expect(try String(contentsOf: control.appendingPathComponent("conffiles"), encoding: .utf8) == "/etc/default/portpressure\n")
        for script in ["postinst", "prerm", "postrm"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: control.appendingPathComponent(script).path)
            #expect((attributes[.posixPermissions] as? Int) == 0o755, "\(script)")
            let text = try String(contentsOf: control.appendingPathComponent(script), encoding: .utf8)
            #expect(text.contains("deb-systemd-"), "\(script) does not use deb-systemd-helper/invoke")
        }
        // No user is created: the service runs with DynamicUser=.
        for script in ["postinst", "prerm", "postrm"] {
            let text = try String(contentsOf: control.appendingPathComponent(script), encoding: .utf8)
            #expect(!text.contains("adduser") && !text.contains("useradd"), "\(script)")
        }

        // The man pages are the commands' own help, and the completions know the subcommands.
        let page = try package.extractedFile("usr/share/man/man1/portpressure-serve.1.gz").path
        let servePage = try Tool.run(["env", "MANWIDTH=100", "man", "--warnings", "-l", page])
        #expect(servePage.stderr.isEmpty, "\(servePage.stderr)")
        #expect(servePage.stdout.contains("portpressure serve [--web.listen-address address...]"), "\(servePage.stdout.prefix(600))")
        #expect(servePage.stdout.contains("--web.systemd-socket") && servePage.stdout.contains("--config.check"))
        let whatis = try Tool.run(["lexgrog", page]).stdout
        #expect(whatis.contains("portpressure-serve - Serve port-pressure metrics for Prometheus."), "\(whatis)")
        let bash = try String(contentsOf: try package.extractedFile("usr/share/bash-completion/completions/portpressure"), encoding: .utf8)
        #expect(Self.subcommands.allSatisfy { bash.contains($0) } && bash.contains("complete"))
    }

    @Test("The packaged service is deploy/systemd's unit with the packaged binary's path")
    func packagedUnitIsTheDeployedOne() throws {
        let package = try BuiltPackage.shared()
        let packaged = try String(contentsOf: try package.extractedFile("lib/systemd/system/portpressure.service"), encoding: .utf8)
        let source = try String(contentsOfFile: SourceTree.path("deploy/systemd/portpressure.service"), encoding: .utf8)
        #expect(packaged.contains("ExecStart=/usr/bin/portpressure serve $PORTPRESSURE_ARGS"))
        #expect(!packaged.contains("/usr/local/bin"))
        // Every directive of the source unit is in the packaged one, in order.
        let directives = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty } }
        #expect(directives(packaged) == directives(source.replacingOccurrences(of: "/usr/local/bin/", with: "/usr/bin/")))
    }

    @Test("lintian reports no error")
    func lintianHasNoError() throws {
        let package = try BuiltPackage.shared()
        let result = try Tool.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0", package.deb.path])
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result.stdout)\(result.stderr)")  // no error, no warning, no info
        // Nothing is overridden either: libyaml is Debian's, linked dynamically, not embedded.
        // (Shown overrides count toward --fail-on, hence a second run.)
        let overrides = try Tool.run(["lintian", "--show-overrides", "--tag-display-limit", "0", package.deb.path]).stdout
            .split(separator: "\n").filter { $0.hasPrefix("O:") }
        #expect(overrides.isEmpty, "\(overrides)")
    }

    @Test("dpkg -i: the installed binary names its build, the units verify where installed, dpkg --purge leaves nothing")
    func installRunVerifyPurge() throws {
        let package = try BuiltPackage.shared()
        _ = try Tool.run(["dpkg", "--purge", "portpressure"])  // a run interrupted before its purge
        let install = try Tool.run(["dpkg", "-i", package.deb.path])
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        var purged = false
        defer { if !purged { _ = try? Tool.run(["dpkg", "--purge", "portpressure"]) } }

        // --version: every field against git and the toolchain that built it.
        let version = try Tool.run(["/usr/bin/portpressure", "--version"])
        #expect(version.status == 0, "\(version.stderr)")
        let lines = version.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 4, "\(lines)")
        #expect(lines[0] == "portpressure, version \(package.sourceVersion) (branch: \(package.git.branch), revision: \(package.git.revision))")
        let date = try #require(lines[1].firstMatch(of: #/^  build date:       (\d{8}-\d\d:\d\d:\d\d)$/#), "\(lines[1])")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HH:mm:ss"
        let built = try #require(formatter.date(from: String(date.output.1)))
        #expect(built >= package.buildStarted.addingTimeInterval(-1) && built <= package.buildFinished.addingTimeInterval(1),
                "build date \(built) outside the build \(package.buildStarted)...\(package.buildFinished)")
        #expect(lines[2] == "  swift version:    \(package.swiftVersion)")
        #expect(lines[3].hasPrefix("  platform:         linux/"))

        // Runs with only what it declares: nothing of the Swift toolchain, nothing missing.
        let ldd = try Tool.run(["ldd", "/usr/bin/portpressure"]).stdout
        #expect(!ldd.contains("/opt/swift") && !ldd.contains("libswift") && !ldd.contains("libFoundation") && !ldd.contains("not found"), "\(ldd)")

        // Both units verify from their installed paths, with no diagnostic at all.
        for unit in ["/lib/systemd/system/portpressure.service", "/lib/systemd/system/portpressure.socket"] {
            let verify = try Tool.run(["systemd-analyze", "verify", unit])
            #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty, "\(unit): \(verify.stdout)\(verify.stderr)")
        }
        // Enabled the Debian way (deb-systemd-helper), the socket left to the administrator.
        #expect(FileManager.default.fileExists(atPath: "/etc/systemd/system/multi-user.target.wants/portpressure.service"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/systemd/system/sockets.target.wants/portpressure.socket"))
        // The installed /etc/default file's options are valid for the installed binary.
        let check = try Tool.run(["sh", "-c", ". /etc/default/portpressure && exec /usr/bin/portpressure serve --config.check $PORTPRESSURE_ARGS"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        let installedFiles = try Tool.run(["dpkg", "-L", "portpressure"]).stdout.split(separator: "\n").map(String.init)
            .filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            }
        #expect(installedFiles.contains("/usr/bin/portpressure") && installedFiles.count >= 10, "\(installedFiles)")

        let purge = try Tool.run(["dpkg", "--purge", "portpressure"])
        purged = true
        #expect(purge.status == 0, "\(purge.stdout)\(purge.stderr)")
        #expect(try Tool.run(["dpkg-query", "-W", "portpressure"]).status != 0, "still known to dpkg")
        let left = (installedFiles + [
            "/etc/systemd/system/multi-user.target.wants/portpressure.service",
            "/var/lib/systemd/deb-systemd-helper-enabled/portpressure.service.dsh-also",
            "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/portpressure.service",
            "/var/lib/systemd/deb-systemd-helper-enabled/portpressure.socket.dsh-also",
            "/etc/portpressure", "/usr/share/doc/portpressure",
        ]).filter { FileManager.default.fileExists(atPath: $0) || (try? FileManager.default.destinationOfSymbolicLink(atPath: $0)) != nil }
        #expect(left.isEmpty, "left after purge: \(left)")
    }
}

/// The package, built once per test run by scripts/package-deb, and what it was built from.
struct BuiltPackage: Sendable {
    struct Failure: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    struct GitFacts: Sendable {
        let revision: String
        let branch: String
        let commitShort: String
        let commitTime: Date
        let exactTag: Bool
    }

    let deb: URL
    let git: GitFacts
    let sourceVersion: String
    let swiftVersion: String
    let buildStarted: Date
    let buildFinished: Date
    /// The package's files, extracted once (dpkg-deb -x) for inspection.
    let extracted: URL

    private static let built: Result<BuiltPackage, Failure> = Result { try build() }.mapError { Failure(description: "\($0)") }

    static func shared() throws -> BuiltPackage { try built.get() }

    private static func build() throws -> BuiltPackage {
        let git = try gitFacts()
        let started = Date()
        let result = try Tool.run([SourceTree.path("scripts/package-deb")])
        let finished = Date()
        guard result.status == 0, let last = result.stdout.split(separator: "\n").last, last.hasSuffix(".deb") else {
            throw Failure(description: "scripts/package-deb failed (exit \(result.status)):\n\(result.stderr.suffix(4000))")
        }
        let swift = try Tool.run(["swift", "--version"])
        guard let match = (swift.stdout + swift.stderr).firstMatch(of: #/Swift version (\d+(?:\.\d+)+)/#) else {
            throw Failure(description: "cannot read swift --version: \(swift.stdout)\(swift.stderr)")
        }
        let source = try String(contentsOfFile: SourceTree.path("Sources/portpressure/BuildInfo.swift"), encoding: .utf8)
        guard let version = source.firstMatch(of: #/static let version = "([^"]+)"/#) else {
            throw Failure(description: "no version in Sources/portpressure/BuildInfo.swift")
        }
        // In the packaging build's scratch folder (git-ignored), replaced by each run: no copy of
        // a 60 MB binary is left in /tmp per run.
        let extracted = URL(fileURLWithPath: SourceTree.path(".build-release-static/package-test"))
        try? FileManager.default.removeItem(at: extracted)
        let deb = URL(fileURLWithPath: String(last))
        let unpack = try Tool.run(["dpkg-deb", "-R", deb.path, extracted.path])
        guard unpack.status == 0 else { throw Failure(description: "dpkg-deb -R: \(unpack.stderr)") }
        return BuiltPackage(deb: deb, git: git, sourceVersion: String(version.output.1), swiftVersion: String(match.output.1),
                            buildStarted: started, buildFinished: finished, extracted: extracted)
    }

    /// What the packaging script must have stamped, computed here from git on its own.
    private static func gitFacts() throws -> GitFacts {
        func git(_ arguments: [String]) throws -> String {
            let result = try Tool.run(["git", "-C", SourceTree.root.path] + arguments)
            guard result.status == 0 else { throw Failure(description: "git \(arguments): \(result.stderr)") }
            return result.stdout.trimmed
        }
        let dirty = try !git(["status", "--porcelain"]).isEmpty
        let head = try git(["rev-parse", "HEAD"])
        let version = try String(contentsOfFile: SourceTree.path("Sources/portpressure/BuildInfo.swift"), encoding: .utf8)
            .firstMatch(of: #/static let version = "([^"]+)"/#).map { String($0.output.1) } ?? ""
        let tagged = try git(["tag", "--points-at", "HEAD", "--list", "v\(version)"]) == "v\(version)"
        return GitFacts(revision: dirty ? head + "-dirty" : head, branch: try git(["rev-parse", "--abbrev-ref", "HEAD"]),
                        commitShort: try git(["rev-parse", "--short=12", "HEAD"]),
                        commitTime: Date(timeIntervalSince1970: Double(try git(["show", "-s", "--format=%ct", "HEAD"])) ?? 0),
                        exactTag: !dirty && tagged)
    }

    /// `<version>` at its release tag; otherwise `<version>~git<commit time>.<commit>[.dirty]`,
    /// which sorts before the release.
    var expectedVersion: String {
        if git.exactTag { return sourceVersion }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        let base = "\(sourceVersion)~git\(formatter.string(from: git.commitTime)).\(git.commitShort)"
        return git.revision.hasSuffix("-dirty") ? base + ".dirty" : base
    }

    func controlFields() throws -> [String: String] {
        let text = try String(contentsOf: extracted.appendingPathComponent("DEBIAN/control"), encoding: .utf8)
        var fields: [String: String] = [:]
        var current: String?
        for line in text.split(separator: "\n") {
            if line.hasPrefix(" "), let current {
                fields[current, default: ""] += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                current = String(line[..<colon])
                fields[current!] = line[line.index(after: colon)...].trimmed
            }
        }
        return fields
    }

    func controlArchive() throws -> URL { extracted.appendingPathComponent("DEBIAN") }

    func extractedFile(_ relative: String) throws -> URL {
        let url = extracted.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else { throw Failure(description: "the package has no /\(relative)") }
        return url
    }

    /// `dpkg-deb -c`: mode, owner and path of every entry, as the archive records them.
    func contents() throws -> [(mode: String, owner: String, path: String)] {
        let listing = try Tool.run(["dpkg-deb", "-c", deb.path])
        guard listing.status == 0 else { throw Failure(description: "dpkg-deb -c: \(listing.stderr)") }
        return listing.stdout.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 6, let dot = words.last, dot.hasPrefix("./") else { return nil }
            let path = String(dot.dropFirst())
            return (String(words[0]), String(words[1]), path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path)
        }
    }
}

extension StringProtocol {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
