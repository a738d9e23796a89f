import TestSupport

/// A `portpressure serve` running in a test namespace, and its port.
struct ServeProcess {
    let process: RunningProcess
    let port: Int

    /// Starts `serve` on `127.0.0.1:port` with `extra` flags and waits (bounded) until
    /// `/-/healthy` answers: the server says nothing when it is ready, so the answer is the
    /// event. Its probes close with a RST and leave nothing behind.
    static func start(in ns: NetworkNamespace, port: Int, extra: [String] = [], timeout: Duration = .seconds(30)) throws -> ServeProcess {
        let process = try ns.launch([BuiltProducts.path("portpressure"), "serve", "--web.listen-address", "127.0.0.1:\(port)"] + extra)
        do {
            try waitUntil("serve to answer /-/healthy", timeout: timeout, every: .milliseconds(20)) {
                if let ending = process.ending { throw StopWaiting("serve \(ending) at start: \(process.stderr)") }
                return try ns.run { try HTTPClient(port: port, timeoutSeconds: 5).request("GET", "/-/healthy") }.status == 200
            }
        } catch {
            process.stop()
            throw NetworkNamespace.Failure("\(error): \(process.stderr)")
        }
        return ServeProcess(process: process, port: port)
    }
}
