#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ConnectX
import SockDiag
import SocketModel
import SystemCalls

/// `portpressure connect`: opens connections with ConnectX (or plainly) and holds them.
struct ConnectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Open connections with ConnectX (or plain bind/connect) and hold them.",
        discussion: """
            Prints one line per connection (`tcp 127.0.0.1:40001 -> 127.0.0.2:80`), holds them \
            for --hold seconds, then closes them. On a failure it prints how many were \
            established and what the errno means for ports, and exits 1. Bad arguments exit 2.
            """
    )

    enum Transport: String, EnumerableFlag {
        case tcp, udp
        static func help(for value: Self) -> ArgumentHelp? { value == .tcp ? "TCP (the default)." : "UDP." }
    }

    @Flag(exclusivity: .exclusive) var transport: Transport = .tcp

    @Option(help: ArgumentHelp("Source address, with a port to use that port.", valueName: "IP[:PORT]"))
    var source: String?

    @Option(help: "Connections to open.")
    var count = 1

    @Option(help: ArgumentHelp("Seconds to hold the connections before closing them.", valueName: "SECONDS"))
    var hold = 0.0

    @Flag(help: "Plain bind()/connect(), as most applications do, instead of ConnectX.")
    var plain = false

    @Option(help: ArgumentHelp("TCP handshake timeout in seconds.", valueName: "S"))
    var timeout = 5.0

    @Argument(help: ArgumentHelp("The destination: an address or a name, and a port.", valueName: "HOST:PORT"))
    var destination: String

    /// Synchronous on the main thread, so that the process has one thread: the kernel grows a
    /// process's descriptor table (at 64, 256, 512... descriptors) with an RCU grace period
    /// when other threads share it, several milliseconds each time, which made `--count 2000`
    /// spend more time waiting than connecting.
    func run() throws {
        guard count >= 1 else { throw usage("--count must be at least 1, not \(count)") }
        guard hold >= 0, hold <= Self.maximumHold else {
            throw usage("--hold must be a number of seconds from 0 to \(Int(Self.maximumHold)), not \(hold)")
        }
        guard timeout > 0, timeout.isFinite else { throw usage("--timeout must be a number of seconds > 0, not \(timeout)") }
        var from: ConnectX.Endpoint?
        if let source {
            guard let parsed = ConnectX.Endpoint(parsing: source, portOptional: true) else {
                throw usage("invalid --source \(source.debugDescription): want IP or IP:PORT ([IPv6]:PORT, [fe80::1%eth0]:PORT)")
            }
            from = parsed
        }
        let target: ConnectX.Endpoint
        do {
            let candidates = try ConnectX.resolve(destination)
            target = candidates.first { $0.address.family == from?.address.family } ?? candidates[0]
        } catch {
            if error.step == .arguments {
                throw usage("invalid destination \(destination.debugDescription): want HOST:PORT, e.g. 192.0.2.1:80 or [2001:db8::1]:53")
            }
            throw failure(established: 0, error)
        }
        var options = ConnectOptions(method: plain ? .plain : .connectx, timeout: .milliseconds(Int64(timeout * 1000)))
        let proto: TransportProtocol = transport == .tcp ? .tcp : .udp
        if proto == .udp && !plain {
            // One netlink socket for every connection of this run, in this process's namespace.
            do { options.sockDiag = try SockDiagClient() } catch {
                throw failure(established: 0, ConnectXError(sockDiag: error))
            }
        }
        var sockets: [ConnectedSocket] = []
        sockets.reserveCapacity(count)
        // Lines are written in batches (a write per line cost as much as a UDP connection),
        // and before a TCP handshake, which may block: a reader sees every line before a wait.
        var output = ConsoleBuffer()
        for _ in 0..<count {
            if proto == .tcp { output.flush() }
            do {
                let socket = try ConnectX.connect(to: target, from: from, protocol: proto, options: options)
                output.appendLine(socket.description)
                sockets.append(socket)
            } catch {
                output.flush()
                if error.step == .arguments { throw usage(error.detail) }
                throw failure(established: sockets.count, error)
            }
        }
        output.flush()
        if hold > 0 { sleepThread(for: .milliseconds(Int64(hold * 1000))) }
        sockets.forEach { $0.close() }
    }

    /// A year: long enough for any test, short enough to be a `Duration` in milliseconds.
    static let maximumHold = 365.0 * 86_400

    private func usage(_ message: String) -> ExitCode {
        Console.errorLine("portpressure connect: \(message)")
        return ExitCode(2)
    }

    private func failure(established: Int, _ error: ConnectXError) -> ExitCode {
        Console.errorLine("portpressure connect: established \(established) of \(count) connection\(count == 1 ? "" : "s")")
        Console.errorLine("\(error.errnoName): \(error.meaning) (\(error.step.rawValue)\(error.detail.isEmpty ? "" : ": \(error.detail)"))")
        return ExitCode(1)
    }
}
