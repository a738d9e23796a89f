#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ConnectX
import Probes
import SocketModel

/// `portpressure probe`: runs probes once and prints what each found.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Run probes once and print a table of what each found.",
        discussion: """
            Runs every probe of --config.file (the file `serve` uses), or one probe described \
            by --target and the options after it, once, and prints the probe, its result, the \
            failure reason, the duration and the local address used. Exits 0 when every probe \
            succeeded, 1 when one failed, 2 on bad input.
            """
    )

    @Option(name: .customLong("config.file"), help: ArgumentHelp("A probes file (YAML), as for serve.", valueName: "file"))
    var configFile: String?

    @Option(help: ArgumentHelp("One probe toward HOST:PORT (a name or an address).", valueName: "HOST:PORT"))
    var target: String?

    @Option(name: .customLong("protocol"), help: ArgumentHelp("tcp or udp (with --target).", valueName: "protocol"))
    var transport = "tcp"

    @Option(help: ArgumentHelp("Source address, optionally with a port (with --target).", valueName: "IP[:PORT]"))
    var source: String?

    @Option(help: ArgumentHelp("connectx, or plain for bind()+connect() as most applications do (with --target).", valueName: "method"))
    var method: String = "connectx"

    @Option(help: ArgumentHelp("The longest the probe may take, e.g. 2s or 500ms (with --target).", valueName: "duration"))
    var timeout: String = "2s"

    @Option(help: ArgumentHelp("Text to send once connected (with --target).", valueName: "text"))
    var send: String?

    @Option(name: .customLong("send-hex"), help: ArgumentHelp("Bytes to send, in hex (with --target).", valueName: "hex"))
    var sendHex: String?

    @Option(help: ArgumentHelp("Text the reply must start with (with --target).", valueName: "text"))
    var expect: String?

    @Option(name: .customLong("expect-hex"), help: ArgumentHelp("Bytes the reply must start with, in hex (with --target).", valueName: "hex"))
    var expectHex: String?

    @Option(help: ArgumentHelp("Run inside this network namespace: an ip netns NAME or a namespace file (with --target).", valueName: "NAME|PATH"))
    var netns: String?

    @Option(help: "Probes run at once.")
    var concurrency = 8

    func validate() throws {
        guard (configFile == nil) != (target == nil) else {
            throw ValidationError("give either --config.file or --target")
        }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256, got \(concurrency)") }
        guard send == nil || sendHex == nil else { throw ValidationError("give --send or --send-hex, not both") }
        guard expect == nil || expectHex == nil else { throw ValidationError("give --expect or --expect-hex, not both") }
        guard netns == nil || target != nil else { throw ValidationError("--netns goes with --target (in a probes file, write netns: on the probe)") }
    }

    func run() throws {
        let probes: [ProbeDefinition]
        do throws(ProbeConfigError) {
            if let configFile {
                probes = try ProbeConfig.load(file: configFile).probes
            } else {
                probes = [try single()]
            }
        } catch {
            // A file's error names the file, line, probe and field; an option's, the option.
            let message = error.file != nil ? error.description : "\(error.field.map { "\($0): " } ?? "")\(error.message)"
            Console.errorLine("portpressure probe: \(message)")
            throw ExitCode(2)
        }
        let results: [ProbeResult]
        do {
            results = try ProbeBatch.run(probes, runner: ProbeRunner(), concurrency: concurrency)
        } catch {
            Console.errorLine("portpressure probe: cannot start a thread: \(error)")
            throw ExitCode(1)
        }
        Console.out(ProbeReport.table(results))
        if !results.allSatisfy(\.succeeded) { throw ExitCode(1) }
    }

    /// The probe the command-line options describe; errors name the option.
    private func single() throws(ProbeConfigError) -> ProbeDefinition {
        func invalid(_ option: String, _ message: String) -> ProbeConfigError {
            ProbeConfigError(field: option, message: message)
        }
        func payload(_ text: String?, hex: String?, option: String) throws(ProbeConfigError) -> [UInt8]? {
            if let text { return Array(text.utf8) }
            guard let hex else { return nil }
            switch Hex.decode(hex) {
            case .success(let bytes): return bytes
            case .failure(let problem): throw invalid(option, problem.message)
            }
        }
        let sendBytes = try payload(send, hex: sendHex, option: "--send-hex")
        let expectBytes = try payload(expect, hex: expectHex, option: "--expect-hex")
        var probe: ProbeDefinition
        do {
            probe = try ProbeDefinition(parsing: target ?? "", proto: transport, target: target ?? "", source: source, method: method,
                                        timeout: timeout, send: sendBytes, expect: expectBytes, netns: netns)
            // One run: the interval only needs to hold the timeout.
            probe.name = probe.target.description
            probe.interval = max(probe.timeout, ProbeDefinition.defaultInterval)
            try probe.validate()
        } catch {
            throw invalid("--\(error.field ?? "target")", error.message)
        }
        return probe
    }
}
