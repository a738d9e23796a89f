import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// `serve --web.systemd-socket` for real: systemd's own `systemd-socket-activate` holds the
    /// listening socket in a private namespace and starts the exporter on the first connection,
    /// passing the socket as systemd does (LISTEN_FDS=1, descriptor 3).
    @Suite struct SocketActivation {
        @Test func servesOnTheSocketSystemdPasses() throws {
            let ns = try NetworkNamespace()
            let activator = try ns.launch([try Tool.path("systemd-socket-activate"), "-l", "127.0.0.1:10123",
                                           BuiltProducts.path("portpressure"), "serve", "--web.systemd-socket"])
            defer { activator.stop() }
            // It prints this once the socket listens; the exporter is not running yet.
            _ = try activator.waitForLine(startingWith: "Listening on 127.0.0.1:10123 as 3", onStderr: true)
            #expect(!activator.stderr.contains("portpressure serve started"))

            for _ in 0..<2 {
                let scrape = try ns.spawn(["curl", "-sS", "--max-time", "20", "-w", "\\n%{http_code}", "http://127.0.0.1:10123/metrics"])
                #expect(scrape.status == 0, "\(scrape.stderr)")
                #expect(scrape.stdout.hasSuffix("\n200") && scrape.stdout.contains("portpressure_build_info{"), "\(scrape.stdout.suffix(300))")
            }
            // The exporter served on the passed socket and opened none of its own.
            let log = activator.stderr
            #expect(log.contains("msg=listening address=127.0.0.1:10123"), "\(log)")
            #expect(log.components(separatedBy: "msg=listening").count == 2, "\(log)")
            let sockets = try ns.spawn(["ss", "-Htln"]).stdout.split(separator: "\n")
            #expect(sockets.count == 1 && sockets.first?.contains("127.0.0.1:10123") == true, "\(sockets)")
        }
    }
}
