import Testing
import TestSupport

@Suite struct ExpositionParsing {
    @Test func samplesLabelsEscapesAndComments() throws {
        let text = """
            # HELP a_total Things.
            # TYPE a_total counter
            a_total 3
            # HELP b Labelled.
            # TYPE b gauge
            b{x="1",y="q\\"u\\\\o\\nte"} 2.5
            b{x="2"} +Inf

            """
        let e = try Exposition(text)
        #expect(e.samples.count == 3)
        #expect(e.value("a_total") == 3)
        #expect(e.value("b", ["x": "1", "y": "q\"u\\o\nte"]) == 2.5)
        #expect(e.value("b", ["x": "2"]) == .infinity)
        #expect(e.types == ["a_total": "counter", "b": "gauge"] && e.help["b"] == "Labelled.")
        #expect(!e.endsWithEOF)
        #expect(try Exposition("# TYPE c counter\nc_total 1\n# EOF\n").endsWithEOF)
    }

    @Test func rejectsMalformedLines() {
        for bad in ["a 1 1700000000\n", "a{x=\"1\" 1\n", "a{x=1} 1\n", "a{x=\"1\",x=\"2\"} 1\n", "a\n", "a one\n", "a 1\n\nb 2\n",
                    "# TYPE a gauge\n# TYPE a gauge\n", "# EOF\na 1\n"] {
            #expect(throws: Exposition.Malformed.self, "\(bad.debugDescription)") { try Exposition(bad) }
        }
    }

    /// A series written as in the exposition finds its sample whatever the label order; an
    /// extra or missing label finds nothing.
    @Test func valueOfASeriesAsWritten() throws {
        let e = try Exposition("m{a=\"1\",b=\"x y\"} 7\nm{a=\"1\"} 8\nplain 9\n")
        #expect(try e.value(series: #"m{b="x y",a="1"}"#) == 7)
        #expect(try e.value(series: #"m{a="1"}"#) == 8)
        #expect(try e.value(series: "plain") == 9)
        #expect(try e.value(series: #"m{a="2"}"#) == nil)
        #expect(try e.value(series: #"m{a="1",b="x y",c="z"}"#) == nil)
        #expect(throws: Exposition.Malformed.self) { try e.value(series: "m{a=1}") }
    }
}
