#if canImport(Glibc)
import Glibc
#endif
import ConnectX
@testable import Probes
import SocketModel
import ConnectXTestSupport
import Testing

extension ProbesTests {
    @Suite struct ConfigTests {
        @Test func aFullConfigurationAndTheDefaults() throws {
            let config = try ProbeConfig.parse(yaml: """
                probes:
                  - name: resolver
                    protocol: udp
                    target: 10.0.0.53:53
                    source: 10.0.0.10
                    method: plain
                    interval: 1m30s
                    timeout: 500ms
                    send: {hex: "ab cd 01"}
                    expect: {hex: "ABCD"}
                  - name: web
                    protocol: tcp
                    target: "[2001:db8::1]:443"
                    source: "[2001:db8::2]:5000"
                    send: "HEAD / HTTP/1.0\\r\\n\\r\\n"
                    expect: HTTP/1.
                  - name: by-name
                    protocol: tcp
                    target: db.example.com:5432
                """)
            #expect(config.probes.count == 3)
            let resolver = config.probes[0]
            #expect(resolver.name == "resolver")
            #expect(resolver.proto == .udp)
            #expect(resolver.target == ProbeTarget(host: "10.0.0.53", port: 53))
            #expect(resolver.source == ep("10.0.0.10"))
            #expect(resolver.method == .plain)
            #expect(resolver.interval == .seconds(90))
            #expect(resolver.timeout == .milliseconds(500))
            #expect(resolver.send == [0xab, 0xcd, 0x01])
            #expect(resolver.expect == [0xab, 0xcd])
            let web = config.probes[1]
            #expect(web.target.host == "2001:db8::1")
            #expect(web.target.description == "[2001:db8::1]:443")
            #expect(web.source == ep("[2001:db8::2]:5000"))
            #expect(web.sourceLabel == "[2001:db8::2]:5000")
            #expect(web.send == Array("HEAD / HTTP/1.0\r\n\r\n".utf8))
            #expect(web.expect == Array("HTTP/1.".utf8))
            let byName = config.probes[2]
            #expect(byName.method == .connectx)
            #expect(byName.interval == .seconds(15))
            #expect(byName.timeout == .seconds(2))
            #expect(byName.source == nil && byName.sourceLabel == "")
            #expect(byName.send == nil && byName.expect == nil)
            #expect(byName.target.literalAddress == nil)
        }

        @Test func anEmptyListIsNoProbes() throws {
            #expect(try ProbeConfig.parse(yaml: "probes: []\n").probes.isEmpty)
            #expect(try ProbeConfig.parse(yaml: "probes:\n").probes.isEmpty)
        }

        /// Each bad file, the probe and field its error must name, and a word of the message.
        @Test(arguments: [
            ("", nil, nil, "empty"),
            ("probes: [", nil, nil, "not valid YAML"),
            ("- name: a", nil, nil, "top level"),
            ("probe:\n  - name: a", nil, nil, "unknown key \"probe\""),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    intervall: 15s", "a", nil, "unknown field \"intervall\""),
            ("probes:\n  - name: a\n    name: b\n    protocol: tcp\n    target: 1.2.3.4:80", nil, nil, "duplicate key"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n  - name: a\n    protocol: udp\n    target: 1.2.3.4:53", "a", "name", "duplicate name (first used at line 2)"),
            ("probes:\n  - protocol: tcp\n    target: 1.2.3.4:80", "#1", "name", "missing"),
            ("probes:\n  - name: a\n    target: 1.2.3.4:80", "a", "protocol", "missing"),
            ("probes:\n  - name: a\n    protocol: sctp\n    target: 1.2.3.4:80", "a", "protocol", "not tcp or udp"),
            ("probes:\n  - name: a\n    protocol: tcp", "a", "target", "missing"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4", "a", "target", "not host:port"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:0", "a", "target", "not host:port"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:65536", "a", "target", "not host:port"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 2001:db8::1:80", "a", "target", "not host:port"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: bad_host!:80", "a", "target", "not host:port"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    source: 1.2.3", "a", "source", "not an IP address"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    source: 1.2.3.4:70000", "a", "source", "not an IP address"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    source: '::1'", "a", "source", "ipv6"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    method: fast", "a", "method", "not connectx or plain"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    interval: 15", "a", "interval", "not a duration"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    interval: 1.5s", "a", "interval", "not a duration"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    timeout: -1s", "a", "timeout", "not a duration"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    timeout: 0s", "a", "timeout", "more than 0"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    interval: 1s\n    timeout: 2s", "a", "timeout", "longer than the interval 1s"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    send: {hex: abc}", "a", "send.hex", "odd number"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    send: {hex: zz}", "a", "send.hex", "not a hex digit"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    expect: {base64: YQ==}", "a", "expect", "not a mapping with base64"),
            ("probes:\n  - name: a\n    protocol: tcp\n    target: 1.2.3.4:80\n    send: [1, 2]", "a", "send", "string or {hex"),
            ("probes:\n  - name: a\n    protocol: udp\n    target: 1.2.3.4:53\n    expect: x", "a", "expect", "give send as well"),
            ("probes:\n  - name: a\n    protocol: [tcp]\n    target: 1.2.3.4:80", "a", "protocol", "single value"),
            ("probes: {name: a}", nil, "probes", "list of probes"),
        ] as [(String, String?, String?, String)])
        func badConfigurationsNameTheProbeAndTheField(yaml: String, probe: String?, field: String?, words: String) {
            do throws(ProbeConfigError) {
                let config = try ProbeConfig.parse(yaml: yaml, file: "probes.yml")
                Issue.record("accepted: \(config)")
            } catch {
                #expect(error.file == "probes.yml")
                #expect(error.probe == probe)
                #expect(error.field == field)
                #expect(error.message.contains(words), "\(error)")
                if let probe { #expect(error.description.contains("probe \(probe.hasPrefix("#") ? probe : "\"\(probe)\"")")) }
                if let field { #expect(error.description.contains("field \(field)")) }
                #expect(error.description.hasPrefix("probes.yml:") || error.line == nil)
            }
        }

        @Test func errorsCarryTheLine() {
            #expect(throws: ProbeConfigError(file: "f", line: 5, probe: "b", field: "interval",
                                             message: "\"soon\" is not a duration (write e.g. 15s, 500ms, 1m30s)")) {
                try ProbeConfig.parse(yaml: """
                    probes:
                      - name: a
                        protocol: tcp
                        target: 127.0.0.1:80
                      - {name: b, protocol: tcp, target: "127.0.0.1:81", interval: soon}
                    """, file: "f")
            }
            #expect(throws: ProbeConfigError(file: "f", line: 4, probe: "a", field: "timeout",
                                             message: "3s is longer than the interval 2s")) {
                try ProbeConfig.parse(yaml: "probes:\n  - name: a\n    protocol: tcp\n    timeout: 3s\n    interval: 2s\n    target: 127.0.0.1:80\n", file: "f")
            }
        }

        @Test func loadingAMissingOrBinaryFileFails() throws {
            #expect(throws: ProbeConfigError.self) { try ProbeConfig.load(file: "/nonexistent/probes.yml") }
            let path = "/tmp/portpressure-probes-binary-\(getpid()).yml"
            try TestFile.write(path, [0xff, 0xfe, 0x00, 0x41])
            defer { TestFile.remove(path) }
            do throws(ProbeConfigError) {
                _ = try ProbeConfig.load(file: path)
                Issue.record("accepted a binary file")
            } catch {
                #expect(error.message.contains("UTF-8"))
                #expect(error.file == path)
            }
        }
    }

    /// Hostile files: each limit and each misleading error of issue 11, with the message asserted.
    @Suite struct BoundedConfigTests {
        static func probe(_ fields: String) -> String {
            "probes:\n  - name: p\n    protocol: udp\n    target: 127.0.0.1:53\n" + fields
        }

        static func failure(_ yaml: String, file: String? = "probes.yml") -> ProbeConfigError? {
            do throws(ProbeConfigError) {
                _ = try ProbeConfig.parse(yaml: yaml, file: file)
                return nil
            } catch {
                return error
            }
        }

        @Test func aLongNameIsRefusedWithoutRepeatingIt() throws {
            let name = String(repeating: "n", count: 100_000)
            let error = try #require(Self.failure("probes:\n  - name: \(name)\n    protocol: tcp\n    target: 127.0.0.1:1\n"))
            #expect(error.description == "probes.yml:2: probe #1, field name: 100000 bytes long, more than the limit of 128 bytes")
            // At the limit it is fine.
            let fits = String(repeating: "n", count: ProbeConfig.Limits.fieldBytes["name"]!)
            #expect(Self.failure("probes:\n  - name: \(fits)\n    protocol: tcp\n    target: 127.0.0.1:1\n") == nil)
        }

        @Test(arguments: ["target", "source", "interval", "method", "protocol"])
        func eachFieldHasALimit(field: String) throws {
            var fields = ["protocol": "tcp", "target": "127.0.0.1:1"]
            fields[field] = String(repeating: "9", count: 400)
            let yaml = "probes:\n  - name: p\n" + fields.sorted { $0.key < $1.key }.map { "    \($0.key): \($0.value)\n" }.joined()
            let error = try #require(Self.failure(yaml))
            #expect(error.field == field)
            let line = yaml.split(separator: "\n").firstIndex { $0.hasPrefix("    \(field):") }.map { $0 + 1 }
            #expect(error.line == line)
            #expect(error.message == "400 bytes long, more than the limit of \(ProbeConfig.Limits.fieldBytes[field]!) bytes")
        }

        @Test func payloadsAreBounded() throws {
            let limit = ProbeConfig.Limits.payloadBytes
            let send = try #require(Self.failure(Self.probe("    send: \(String(repeating: "x", count: limit + 1))\n")))
            #expect(send.description == "probes.yml:5: probe \"p\", field send: \(limit + 1) bytes, more than the limit of \(limit) bytes")
            let hex = try #require(Self.failure(Self.probe("    send: a\n    expect: {hex: \"\(String(repeating: "ab", count: limit + 1))\"}\n")))
            #expect(hex.field == "expect" && hex.line == 6)
            #expect(Self.failure(Self.probe("    send: \(String(repeating: "x", count: limit))\n")) == nil)
        }

        @Test func theNumberOfProbesIsBounded() throws {
            let many = (0...ProbeConfig.Limits.probes).map { "  - {name: p\($0), protocol: tcp, target: \"127.0.0.1:1\"}\n" }.joined()
            let error = try #require(Self.failure("probes:\n" + many))
            #expect(error.description == "probes.yml:2: field probes: 1001 probes, more than the limit of 1000")
        }

        @Test func aLargeFileIsRefusedBeforeParsing() throws {
            let path = "/tmp/portpressure-probes-large-\(getpid()).yml"
            try TestFile.write(path, "probes: []\n" + String(repeating: "#", count: ProbeConfig.Limits.fileBytes))
            defer { TestFile.remove(path) }
            #expect(throws: ProbeConfigError(file: path, message: "the file is \(ProbeConfig.Limits.fileBytes + 11) bytes, more than the limit of \(ProbeConfig.Limits.fileBytes) bytes")) {
                try ProbeConfig.load(file: path)
            }
        }

        /// Issue 11: a FIFO and /dev/zero were reported as "Permission denied".
        @Test func notARegularFileSaysSo() throws {
            let fifo = "/tmp/portpressure-probes-fifo-\(getpid())"
            #expect(mkfifo(fifo, 0o600) == 0)
            defer { TestFile.remove(fifo) }
            #expect(throws: ProbeConfigError(file: fifo, message: "not a regular file (it is a FIFO)")) { try ProbeConfig.load(file: fifo) }
            #expect(throws: ProbeConfigError(file: "/dev/zero", message: "not a regular file (it is a character device)")) {
                try ProbeConfig.load(file: "/dev/zero")
            }
            #expect(throws: ProbeConfigError(file: "/tmp", message: "not a regular file (it is a directory)")) { try ProbeConfig.load(file: "/tmp") }
            #expect(throws: ProbeConfigError(file: "/nonexistent/p.yml", message: "cannot read the file: No such file or directory")) {
                try ProbeConfig.load(file: "/nonexistent/p.yml")
            }
        }

        @Test func anOverflowingDurationIsTooLongNotMalformed() throws {
            let error = try #require(Self.failure(Self.probe("    interval: 2562047h\n")))
            #expect(error.description == "probes.yml:5: probe \"p\", field interval: \"2562047h\" is too long: at most 8784h (366 days)")
            let huge = try #require(Self.failure(Self.probe("    timeout: 99999999999999999999999s\n")))
            #expect(huge.message.contains("is too long"))
            let bad = try #require(Self.failure(Self.probe("    interval: 15\n")))
            #expect(bad.message.contains("is not a duration"))
        }

        @Test func deepNestingHasOneClearMessage() throws {
            let error = try #require(Self.failure("probes: " + String(repeating: "[", count: 1200) + String(repeating: "]", count: 1200)))
            #expect(error.description == "probes.yml: not valid YAML: nested too deeply at line 1, column 10")
        }
    }

    @Suite struct DurationTests {
        @Test(arguments: [
            ("15s", Duration.seconds(15)), ("500ms", .milliseconds(500)), ("1m", .seconds(60)), ("1m30s", .seconds(90)),
            ("2h", .seconds(7200)), ("1h2m3s4ms", .milliseconds(3_723_004)), ("0s", .zero), ("90s", .seconds(90)),
        ])
        func parses(text: String, duration: Duration) {
            #expect(ProbeDuration.parse(text) == duration)
        }

        @Test(arguments: ["", "15", "s", "1.5s", "-1s", "1s1m", "1m1m", "15 s", "1d", "1mm", "5sec", "99999999999s", "1S", "1\u{0663}s"])
        func refuses(text: String) {
            #expect(ProbeDuration.parse(text) == nil)
        }

        @Test(arguments: [Duration.seconds(15), .milliseconds(500), .seconds(90), .milliseconds(3_723_004), .zero, .seconds(7200)])
        func formatsWhatItParses(duration: Duration) {
            #expect(ProbeDuration.parse(ProbeDuration.format(duration)) == duration)
        }

        @Test func formatsShortest() {
            #expect(ProbeDuration.format(.seconds(90)) == "1m30s")
            #expect(ProbeDuration.format(.milliseconds(2500)) == "2s500ms")
        }
    }

    @Suite struct TargetTests {
        @Test(arguments: [
            ("1.2.3.4:80", "1.2.3.4", UInt16(80)), ("[::1]:53", "::1", 53), ("[fe80::1%2]:53", "fe80::1%2", 53),
            ("example.com:443", "example.com", 443), ("localhost:1", "localhost", 1), ("_dns._udp.example:53", "_dns._udp.example", 53),
        ])
        func parses(text: String, host: String, port: UInt16) throws {
            let target = try #require(ProbeTarget(parsing: text))
            #expect(target.host == host)
            #expect(target.port == port)
            #expect(target.description == text)
        }

        @Test(arguments: ["1.2.3.4", "1.2.3.4:", ":80", "[::1]", "[::1]80", "::1:80", "[1.2.3.4]:80", "a b:80", "-x.com:80",
                          "1.2.3:80", "x:+80", "x:٨٠", "[fe80::1%]:80", "example..com:80"])
        func refuses(text: String) {
            #expect(ProbeTarget(parsing: text) == nil)
        }
    }

    @Suite struct HexTests {
        @Test func decodesAndEncodes() throws {
            #expect(try Hex.decode("00ff10Ab").get() == [0x00, 0xff, 0x10, 0xab])
            #expect(try Hex.decode(" 00 ff\n10 ").get() == [0x00, 0xff, 0x10])
            #expect(try Hex.decode("").get() == [])
            #expect(Hex.encode([0x00, 0xff, 0x10, 0xab]) == "00ff10ab")
            #expect((try? Hex.decode("0 0").get()) == nil)
            #expect((try? Hex.decode("0g").get()) == nil)
            #expect((try? Hex.decode("é0").get()) == nil)
        }
    }
}

extension ProbesTests {
    @Suite struct ReportTests {
        @Test func aTableWithAlignedColumns() {
            let results = [
                ProbeResult(probe: "resolver", failure: nil, duration: .microseconds(1_300), local: ep("10.0.0.10:40001"), finishedAt: 0),
                ProbeResult(probe: "web", failure: .econnrefused, duration: .microseconds(212), detail: "connect: ECONNREFUSED", finishedAt: 0),
            ]
            #expect(ProbeReport.table(results) == """
                PROBE     RESULT  REASON        DURATION  LOCAL            DETAIL
                resolver  ok      -             1.3ms     10.0.0.10:40001
                web       FAILED  econnrefused  212µs     -                connect: ECONNREFUSED

                """)
        }

        @Test(arguments: [
            (Duration.microseconds(850), "850µs"), (.nanoseconds(1_234_567), "1.23ms"), (.milliseconds(250), "250ms"),
            (.milliseconds(2_001), "2s"), (.milliseconds(12_500), "12.5s"), (.nanoseconds(999), "1µs"), (.nanoseconds(1_500), "1.5µs"),
        ])
        func durations(duration: Duration, text: String) {
            #expect(ProbeReport.duration(duration) == text)
        }
    }
}

extension ProbesTests.ConfigTests {
    @Test func theSampleConfigurationLoads() throws {
        let path = String(#filePath.dropLast("Tests/ProbesTests/ConfigTests.swift".count)) + "deploy/probes.example.yml"
        let config = try ProbeConfig.load(file: path)
        #expect(config.probes.map(\.name) == ["resolver", "db-as-apps-connect", "db-connectx", "api"])
        #expect(config.probes[0].send?.count == 29)
        #expect(config.probes[0].expect == [0xab, 0xcd])
        #expect(config.probes[1].method == .plain && config.probes[2].method == .connectx)
        #expect(config.probes[3].send == Array("HEAD / HTTP/1.0\r\nHost: api.internal.example\r\n\r\n".utf8))
    }
}
