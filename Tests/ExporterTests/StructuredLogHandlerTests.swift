import Exporter
import Foundation
import Testing

@Suite struct StructuredLogHandlerTests {
    @Test func logfmtQuotesWhatNeedsIt() throws {
        let log = CapturedLog()
        log.logger().warning("two words", metadata: ["plain": "x", "spaced": "a b", "quote": "say \"hi\"", "empty": ""])
        let line = try #require(log.all.first)
        #expect(line.hasPrefix("ts="))
        #expect(line.contains(#" level=warn msg="two words" empty="" plain=x quote="say \"hi\"" spaced="a b""#))
        #expect(line.hasSuffix("\n"))
    }

    @Test func jsonIsValidAndEscaped() throws {
        let log = CapturedLog()
        log.logger(format: .json).error("bad\nthing", metadata: ["err": "x\"y\u{1}"])
        let line = try #require(log.all.first)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(object?["level"] == "error")
        #expect(object?["msg"] == "bad\nthing")
        #expect(object?["err"] == "x\"y\u{1}")
    }

    @Test func levelFilterDropsDebugAtInfo() {
        let log = CapturedLog()
        var logger = log.logger()
        logger.logLevel = .info
        logger.debug("hidden")
        logger.info("shown")
        #expect(log.all.count == 1)
        #expect(log.all.first?.contains("msg=shown") == true)
    }
}
