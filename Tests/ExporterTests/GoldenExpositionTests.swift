import Exporter
import Foundation
import Metrics
import Testing
import TestSupport

/// The exposition of a recorded dump, byte for byte, in both formats. Re-record after an
/// intended change with `PORTPRESSURE_RECORD_GOLDEN=1 swift test --filter GoldenExpositionTests`
/// (and the dump itself with scripts/record-golden-fixture).
@Suite struct GoldenExpositionTests {
    static let recording = ProcessInfo.processInfo.environment["PORTPRESSURE_RECORD_GOLDEN"] == "1"

    @Test(arguments: [(ExpositionFormat.text, "population.prom"), (.openMetrics, "population.openmetrics")])
    func exposition(format: ExpositionFormat, file: String) throws {
        let exporter = Fixture.exporter()
        let result = exporter.scrape(Set(exporter.collectorNames))
        #expect(result.collectors.allSatisfy { $0.error == nil })
        // Collector families only: durations and process metrics change from run to run.
        let rendered = String(decoding: format.render(result.collectors.flatMap(\.families)), as: UTF8.self)
        let url = Fixture.directory.appendingPathComponent(file)
        if Self.recording {
            try rendered.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(rendered == golden, "exposition differs from \(file); re-record if the change is intended")
    }

    /// The facts of the recorded population, as its recipe made them (scripts/record-golden-fixture),
    /// so a re-recorded golden file can't silently drift from the truth.
    @Test func goldenValuesMatchTheRecipe() throws {
        let golden = try Exposition(String(contentsOf: Fixture.directory.appendingPathComponent("population.prom"), encoding: .utf8))
        func value(_ series: String) throws -> Double? { try golden.value(series: series) }
        #expect(try value(#"portpressure_ephemeral_ports_limit{netns="4026531840"}"#) == 91)
        #expect(try value(#"portpressure_ephemeral_ports_reserved{netns="4026531840"}"#) == 10)
        // On 127.0.0.1: tcp 20 + tcp-bind 3 + tcp-bind-noport 2 (a port from connect()) + tcp-timewait 3 + tcp-bound 1.
        #expect(try value(#"portpressure_ephemeral_ports_used{netns="4026531840",proto="tcp",family="ipv4",local_address="127.0.0.1"}"#) == 29)
        #expect(try value(#"portpressure_bound_ephemeral_ports{netns="4026531840",proto="tcp",family="ipv4",local_address="127.0.0.1"}"#) == 1)
        // Any address: connect() may give a ::1 connection a port number a 127.0.0.1 one holds, so
        // TCP lies between the largest address and the sum. UDP ports are never shared: 4 connected
        // and 2 unconnected on 127.0.0.1, 2 duplicate pairs on ::1. Bound: tcp-bound, udp-unconnected.
        let tcpPerAddress = [29.0, 3.0]
        let tcpNamespace = try #require(try value(#"portpressure_namespace_ephemeral_ports_used{netns="4026531840",proto="tcp"}"#))
        #expect(tcpNamespace >= tcpPerAddress.max()! && tcpNamespace <= tcpPerAddress.reduce(0, +))
        #expect(try value(#"portpressure_namespace_ephemeral_ports_used{netns="4026531840",proto="udp"}"#) == 8)
        #expect(try value(#"portpressure_namespace_bound_ephemeral_ports{netns="4026531840",proto="tcp"}"#) == 1)
        #expect(try value(#"portpressure_namespace_bound_ephemeral_ports{netns="4026531840",proto="udp"}"#) == 2)
        #expect(try value(#"portpressure_sockets{netns="4026531840",proto="tcp",family="ipv4",state="time_wait"}"#) == 3)
        #expect(try value(#"portpressure_sockets{netns="4026531840",proto="tcp",family="ipv4",state="bound_inactive"}"#) == 1)
        #expect(try value(#"portpressure_sockets{netns="4026531840",proto="tcp",family="ipv4",state="listen"}"#) == 1)
        #expect(try value(#"portpressure_sockets{netns="4026531840",proto="udp",family="ipv4",state="established"}"#) == 4)
        #expect(try value(#"portpressure_sockets{netns="4026531840",proto="udp",family="ipv4",state="unconnected"}"#) == 2)
        #expect(try value(#"portpressure_udp_duplicate_tuples{netns="4026531840",family="ipv6"}"#) == 2)
        #expect(try value(#"portpressure_udp_overshadowed_sockets{netns="4026531840",family="ipv6"}"#) == 2)
        #expect(try value(#"portpressure_destination_ephemeral_ports_used{netns="4026531840",proto="tcp",family="ipv4",local_address="127.0.0.1",remote_address="127.0.0.1",remote_port="8080"}"#) == 28)
        #expect(try value(#"portpressure_destination_ephemeral_ports_used{netns="4026531840",proto="tcp",family="ipv6",local_address="::1",remote_address="::1",remote_port="8443"}"#) == 3)
    }
}
