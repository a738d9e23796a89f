import Testing

@Suite("PromQL selector scanner (used by the dashboard lint)")
struct PromQLSelectorsTests {
    @Test("Finds metric names, matchers, ranges and the enclosing function")
    func findsSelectors() throws {
        let selectors = try PromQLSelectors.selectors(in: """
            60 * sum by (probe, reason) (rate(portpressure_probe_failures_total{job="$job", instance=~"$instance"}[$__rate_interval])) > 0
            """)
        #expect(selectors == [VectorSelector(
            metric: "portpressure_probe_failures_total",
            matchers: [LabelMatcher(label: "job", op: "=", value: "$job"), LabelMatcher(label: "instance", op: "=~", value: "$instance")],
            range: "$__rate_interval", function: "rate")])
    }

    @Test("Label lists of by/ignoring/group_left are not selectors")
    func skipsLabelLists() throws {
        let selectors = try PromQLSelectors.selectors(in: """
            max by (job, instance) (
              portpressure_ephemeral_ports_used{job="a"}
                / ignoring(proto, family, local_address) group_left
              portpressure_ephemeral_ports_limit{job="a"}
            ) and on(instance) group_left(version) portpressure_build_info
            """)
        #expect(selectors.map(\.metric) == ["portpressure_ephemeral_ports_used", "portpressure_ephemeral_ports_limit", "portpressure_build_info"])
        #expect(selectors[0].function == "max")
        #expect(selectors[2].function == nil)
    }

    @Test("Aggregations with the label list after the parenthesis, offsets, numbers, strings")
    func handlesTheRestOfTheGrammar() throws {
        let selectors = try PromQLSelectors.selectors(in: """
            sum(rate(x_total{a='b\\'c'}[5m] offset 1h)) without (le) + predict_linear(y[1h], 4 * 3600) > 0.75 unless {__name__="z"}
            """)
        #expect(selectors.map(\.metric) == ["x_total", "y", nil])
        #expect(selectors[0].function == "rate")
        #expect(selectors[0].range == "5m")
        #expect(selectors[0].matchers == [LabelMatcher(label: "a", op: "=", value: "b\\'c")])
        #expect(selectors[1].function == "predict_linear")
        #expect(selectors[2].matchers.first?.label == "__name__")
    }

    @Test("Malformed input is an error, not a crash", arguments: [
        "sum(up", "up)", #"up{job="a"#, #"up{job}"#, "rate(up[5m)", "$job",
    ])
    func rejectsMalformedInput(expr: String) {
        #expect(throws: OpsTestError.self) { try PromQLSelectors.selectors(in: expr) }
    }
}
