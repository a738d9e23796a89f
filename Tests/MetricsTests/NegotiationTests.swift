import Testing
@testable import Metrics

@Suite struct NegotiationTests {
    @Test(arguments: [
        (nil, ExpositionFormat.text),
        ("", .text),
        ("*/*", .text),
        ("text/plain", .text),
        ("application/json", .text),
        // What Prometheus 2.x sends when it may scrape OpenMetrics.
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .openMetrics),
        // Prometheus without OpenMetrics scraping.
        ("text/plain;version=0.0.4;q=1,*/*;q=0.1", .text),
        ("application/openmetrics-text", .openMetrics),
        ("Application/OpenMetrics-Text; Version=\"1.0.0\"", .openMetrics),
        ("application/openmetrics-text; version=0.0.1", .openMetrics),
        ("application/openmetrics-text; version=2.0.0", .text),
        ("text/plain; version=0.0.3, application/openmetrics-text", .openMetrics),
        // q-values decide, not the order.
        ("text/plain;q=0.5, application/openmetrics-text;q=0.9", .openMetrics),
        ("application/openmetrics-text;q=0.5, text/plain;q=0.9", .text),
        // Equal q: the first written wins.
        ("text/plain, application/openmetrics-text", .text),
        ("application/openmetrics-text, text/plain", .openMetrics),
        // q=0 means not acceptable.
        ("application/openmetrics-text;q=0", .text),
        ("application/openmetrics-text;q=0, text/plain;q=0.1", .text),
        ("application/openmetrics-text;q=0.001, text/plain;q=0", .openMetrics),
        // Malformed elements are ignored.
        ("application/openmetrics-text;q=abc, text/plain;q=0.2", .text),
        ("garbage, ;;, /, application/openmetrics-text", .openMetrics),
        ("application/openmetrics-text;q=2", .text),
    ] as [(String?, ExpositionFormat)])
    func negotiate(accept: String?, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected)
    }

    @Test func contentTypes() {
        #expect(ExpositionFormat.text.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }

    @Test func acceptParsing() {
        let ranges = MediaRange.parseAccept(#"text/html;level=1;q=0.3, application/xml ; q=0.9 ; charset="utf-8", */*"#)
        #expect(ranges.map { "\($0.type)/\($0.subtype)" } == ["*/*", "application/xml", "text/html"])
        #expect(ranges[1].parameters == ["charset": "utf-8"])
        #expect(ranges[1].quality == 0.9)
        #expect(ranges[2].parameters == ["level": "1"])
    }
}
