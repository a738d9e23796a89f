import Exporter
import Metrics
import Testing

/// A failed collector is reported as failed, never with stale numbers, and the rest of the scrape is served.
@Suite struct FailureTests {
    @Test func failedDumpFailsSocketCollectorsOnly() {
        let source = FailingSource(rangeFails: false)
        let exporter = Fixture.exporter(source: source)
        let routes = Routes(exporter: exporter)
        let response = routes.handle(.init(method: "GET", path: "/metrics"))
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 200)
        #expect(text.contains(#"portpressure_scrape_collector_success{collector="range"} 1"#))
        #expect(text.contains(#"portpressure_scrape_collector_success{collector="sockets"} 0"#))
        #expect(text.contains(#"portpressure_scrape_collector_success{collector="udp"} 0"#))
        #expect(text.contains(#"portpressure_ephemeral_ports_limit{netns="4026531840"} 91"#))
        #expect(!text.contains("portpressure_sockets{"))
        #expect(!text.contains("portpressure_udp_duplicate_tuples{"))
        // Both socket collectors share the one failed dump attempt.
        #expect(source.takeCount == 1)
    }

    @Test func unreadableRangeFailsEveryRangeDependentCollector() {
        let exporter = Fixture.exporter(source: FailingSource(rangeFails: true))
        let result = exporter.scrape(Set(exporter.collectorNames))
        #expect(result.collectors.map(\.name) == ["range", "sockets", "udp"])
        #expect(result.collectors.allSatisfy { $0.error?.contains("ip_local_port_range") == true })
        #expect(result.collectors.allSatisfy { $0.families.isEmpty })
    }

    @Test func errorsAreLoggedOncePerStateChange() {
        let log = CapturedLog()
        let exporter = Fixture.exporter(collectors: [RangeCollector()], source: FailingSource(rangeFails: true), logger: log.logger())
        for _ in 0..<5 { _ = exporter.scrape(["range"]) }
        let failures = log.all.filter { $0.contains("collector failed") }
        #expect(failures.count == 1)
        #expect(failures.first?.contains("collector=range") == true)
    }

    @Test func newDuplicateTuplesAreLoggedOnce() {
        let log = CapturedLog()
        let exporter = Fixture.exporter(logger: log.logger())
        for _ in 0..<3 { _ = exporter.scrape(Set(exporter.collectorNames)) }
        let duplicates = log.all.filter { $0.contains("duplicate UDP 4-tuple") }
        #expect(duplicates.count == 2)  // the recording holds two duplicate tuples
        #expect(duplicates.allSatisfy { $0.contains("level=warn") && $0.contains("tuple=\"[::1]:") && $0.contains("inode=") })
    }

    @Test func exporterMetricsCanBeDisabled() {
        let with = Fixture.exporter(exporterMetrics: true)
        let without = Fixture.exporter(exporterMetrics: false)
        let names = Set(with.collectorNames)
        let on = String(decoding: with.exposition(with.scrape(names), selection: names, format: .text), as: UTF8.self)
        let off = String(decoding: without.exposition(without.scrape(names), selection: names, format: .text), as: UTF8.self)
        #expect(on.contains(#"portpressure_build_info{version="9.9.9",revision="test",branch="unknown",build_date="unknown",swift_version=""#))
        #expect(on.contains("process_resident_memory_bytes"))
        #expect(on.contains("portpressure_sock_diag_dump_retries_total 0"))
        #expect(!off.contains("process_") && !off.contains("portpressure_build_info"))
        #expect(off.contains("portpressure_scrape_collector_duration_seconds{collector=\"sockets\"}"))
    }
}
