import Testing
@testable import Metrics

/// A representative scrape: labelled gauges, a counter with `_total`, a counter without it,
/// an untyped family, escaping in help and label values, special and integral values.
func representativeFamilies() -> [MetricFamily] {
    var sockets = MetricFamily(name: "portpressure_sockets", help: "Sockets by protocol, family and state.",
                               type: .gauge, labelNames: ["proto", "family", "state"])
    sockets.append(12, "tcp", "ipv4", "established")
    sockets.append(3, "udp", "ipv6", "unconnected")
    let retries = MetricFamily(name: "portpressure_sock_diag_dump_retries_total", help: "Dumps restarted after NLM_F_DUMP_INTR.",
                               type: .counter, value: 2)
    let requests = MetricFamily(name: "requests", help: "A counter named without the suffix.", type: .counter, value: 7)
    var odd = MetricFamily(name: "odd_values", help: "Help with a backslash \\ a \"quote\" and a\nnewline.",
                           type: .untyped, labelNames: ["v"])
    odd.append(.infinity, "a\\b")
    odd.append(-.infinity, "say \"hi\"")
    odd.append(.nan, "two\nlines")
    odd.append(0.1, "")
    odd.append(-42, "négatif")
    odd.append(1e15, "big")
    odd.append(123456789012345, "largest integer form")
    odd.append(2.5e-7, "tiny")
    let empty = MetricFamily(name: "empty", help: "No samples: left out.", type: .gauge, labelNames: ["x"])
    let noHelp = MetricFamily(name: "no_help", help: "", type: .gauge, value: 1)
    return [sockets, retries, requests, odd, empty, noHelp]
}

@Suite struct ExpositionWriterTests {
    @Test func textFormat() {
        let text = String(decoding: ExpositionFormat.text.render(representativeFamilies()), as: UTF8.self)
        #expect(text == #"""
        # HELP portpressure_sockets Sockets by protocol, family and state.
        # TYPE portpressure_sockets gauge
        portpressure_sockets{proto="tcp",family="ipv4",state="established"} 12
        portpressure_sockets{proto="udp",family="ipv6",state="unconnected"} 3
        # HELP portpressure_sock_diag_dump_retries_total Dumps restarted after NLM_F_DUMP_INTR.
        # TYPE portpressure_sock_diag_dump_retries_total counter
        portpressure_sock_diag_dump_retries_total 2
        # HELP requests A counter named without the suffix.
        # TYPE requests counter
        requests 7
        # HELP odd_values Help with a backslash \\ a "quote" and a\nnewline.
        # TYPE odd_values untyped
        odd_values{v="a\\b"} +Inf
        odd_values{v="say \"hi\""} -Inf
        odd_values{v="two\nlines"} NaN
        odd_values{v=""} 0.1
        odd_values{v="négatif"} -42
        odd_values{v="big"} 1000000000000000
        odd_values{v="largest integer form"} 123456789012345
        odd_values{v="tiny"} 2.5e-07
        # TYPE no_help gauge
        no_help 1

        """#)
    }

    @Test func openMetricsFormat() {
        let text = String(decoding: ExpositionFormat.openMetrics.render(representativeFamilies()), as: UTF8.self)
        #expect(text == #"""
        # HELP portpressure_sockets Sockets by protocol, family and state.
        # TYPE portpressure_sockets gauge
        portpressure_sockets{proto="tcp",family="ipv4",state="established"} 12
        portpressure_sockets{proto="udp",family="ipv6",state="unconnected"} 3
        # HELP portpressure_sock_diag_dump_retries Dumps restarted after NLM_F_DUMP_INTR.
        # TYPE portpressure_sock_diag_dump_retries counter
        portpressure_sock_diag_dump_retries_total 2
        # HELP requests A counter named without the suffix.
        # TYPE requests counter
        requests_total 7
        # HELP odd_values Help with a backslash \\ a \"quote\" and a\nnewline.
        # TYPE odd_values unknown
        odd_values{v="a\\b"} +Inf
        odd_values{v="say \"hi\""} -Inf
        odd_values{v="two\nlines"} NaN
        odd_values{v=""} 0.1
        odd_values{v="négatif"} -42
        odd_values{v="big"} 1000000000000000
        odd_values{v="largest integer form"} 123456789012345
        odd_values{v="tiny"} 2.5e-07
        # TYPE no_help gauge
        no_help 1
        # EOF

        """#)
    }

    @Test func emptyScrape() {
        #expect(ExpositionFormat.text.render([]).isEmpty)
        #expect(String(decoding: ExpositionFormat.openMetrics.render([]), as: UTF8.self) == "# EOF\n")
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (65535, "65535"), (999_999_999_999_999, "999999999999999"),
        (-999_999_999_999_999, "-999999999999999"), (1e15, "1000000000000000"), (-0x1p62, "-4611686018427387904"), (0x1p63, "9.223372036854776e+18"), (1e300, "1e+300"), (1.5, "1.5"), (0.001, "0.001"), (1e-5, "1e-05"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (.leastNonzeroMagnitude, "5e-324"), (0.30000000000000004, "0.30000000000000004"),
    ] as [(Double, String)])
    func valueFormatting(value: Double, expected: String) {
        let family = MetricFamily(name: "v", help: "", type: .gauge, value: value)
        let text = String(decoding: ExpositionFormat.text.render([family]), as: UTF8.self)
        #expect(text == "# TYPE v gauge\nv \(expected)\n")
        // What is printed reads back as the same number.
        #expect(Double(expected) == value)
    }

    @Test func labelValueEscaping() {
        var family = MetricFamily(name: "e", help: "", type: .gauge, labelNames: ["a", "b"])
        family.append(1, "\\\"\n", "plain\ttab\r")
        family.append(2, "\\\\n", "\"\"")
        let text = String(decoding: ExpositionFormat.text.render([family]), as: UTF8.self)
        #expect(text == "# TYPE e gauge\n" +
            "e{a=\"\\\\\\\"\\n\",b=\"plain\ttab\r\"} 1\n" +
            "e{a=\"\\\\\\\\n\",b=\"\\\"\\\"\"} 2\n")
    }

    @Test func writerAppendsFamiliesIncrementally() {
        var writer = ExpositionWriter(format: .openMetrics, capacity: 8)
        writer.write(MetricFamily(name: "a", help: "A.", type: .gauge, value: 1))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "# HELP a A.\n# TYPE a gauge\na 1\n")
        writer.write(MetricFamily(name: "b_total", help: "", type: .counter, value: 2))
        #expect(String(decoding: writer.finish(), as: UTF8.self) == "# HELP a A.\n# TYPE a gauge\na 1\n# TYPE b counter\nb_total 2\n# EOF\n")
    }

    @Test func familyAccessors() {
        var family = MetricFamily(name: "f", help: "", type: .gauge, labelNames: ["x", "y"])
        family.reserveCapacity(2)
        family.append(1, "a", "b")
        family.append(2, labelValues: ["c", "d"])
        #expect(family.count == 2)
        #expect(family.value(at: 1) == 2)
        #expect(Array(family.labelValues(at: 1)) == ["c", "d"])
        #expect(family.value(where: ["y": "d"]) == 2)
        #expect(family.value(where: ["x": "a", "y": "b"]) == 1)
        #expect(family.value(where: ["x": "a", "y": "d"]) == nil)
        #expect(family.value(where: ["z": "a"]) == nil)
    }

    @Test(arguments: [
        ("a", true), ("_a:b9", true), ("9a", false), ("", false), ("a-b", false), ("a b", false), ("é", false),
    ]) func metricNames(name: String, valid: Bool) {
        #expect(MetricName.isValidMetricName(name) == valid)
    }

    @Test(arguments: [
        ("a", true), ("_a9", true), ("a:b", false), ("__reserved", false), ("9", false), ("", false),
    ]) func labelNames(name: String, valid: Bool) {
        #expect(MetricName.isValidLabelName(name) == valid)
    }

    /// 10^4 series of three labels: the output is complete and every line is a sample or header.
    @Test func manySeries() {
        var family = MetricFamily(name: "many", help: "Many.", type: .gauge, labelNames: ["proto", "local_address", "remote_port"])
        family.reserveCapacity(10_000)
        for i in 0..<10_000 {
            family.append(Double(i), "tcp", "10.0.\(i / 256).\(i % 256)", String(i))
        }
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        let elapsed = clock.measure { bytes = ExpositionFormat.text.render([family]) }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 10_002)
        #expect(lines[10_001] == #"many{proto="tcp",local_address="10.0.39.15",remote_port="9999"} 9999"#)
        print("rendered 10^4 series (\(bytes.count) bytes) in \(elapsed)")
    }
}
