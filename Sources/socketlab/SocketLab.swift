#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SocketModel

/// `socketlab`: builds a real socket population for tests and benchmarks and holds it.
///
/// It prints one `READY <summary>` line once every socket exists, then holds them until its
/// standard input closes (or `--hold` seconds pass), so a test can keep it alive through a pipe.
/// It uses plain syscalls only, independently of the SOCK_DIAG code it is used to check.
@main
struct SocketLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socketlab",
        abstract: "Build a socket population (for portpressure's tests and benchmarks) and hold it.",
        discussion: """
            Each --make is KIND:COUNT:ADDRESS:PORT, built in order. Kinds: \
            \(Recipe.Kind.allCases.map(\.rawValue).joined(separator: ", ")). \
            Run it inside a private network namespace (unshare -n, ip netns exec).
            """
    )

    @Option(name: .customLong("make"), help: "A recipe KIND:COUNT:ADDRESS:PORT (repeatable).")
    var recipes: [String] = []

    @Option(help: "Hold the sockets this many seconds, then exit; default: until stdin closes.")
    var hold: Double?

    @Option(help: ArgumentHelp(
        "After READY, open and close connections to this listener (one of the population) until stdin closes.",
        valueName: "ADDRESS:PORT"))
    var churn: String?

    mutating func run() throws {
        var parsed: [Recipe] = []
        for text in recipes {
            switch Recipe.parse(text) {
            case .success(let r): parsed.append(r)
            case .failure(let e): throw ValidationError(e.description)
            }
        }
        let wanted = parsed.reduce(0) { $0 + $1.count * 2 } + 1024
        try Sockets.raiseFileLimit(to: wanted)
        let population = Population()
        for recipe in parsed {
            do { try population.build(recipe) } catch {
                print("FAILED \(recipe): \(error)")
                throw ExitCode(1)
            }
        }
        // Let loopback FIN/ACK exchanges of TIME_WAIT recipes settle.
        usleep(50_000)
        let summary = population.made.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("READY fds=\(population.descriptors.count) \(summary)")
        fflush(nil)  // all streams: the READY line must reach a pipe now
        if let churn {
            guard let endpoint = SocketEndpoint(churn) else { throw ValidationError("invalid --churn \(churn.debugDescription)") }
            try churnUntilStdinCloses(population, endpoint)
        } else if let hold {
            usleep(useconds_t(max(0, min(hold, 86_400)) * 1_000_000))
        } else {
            var byte: UInt8 = 0
            while read(STDIN_FILENO, &byte, 1) > 0 {}
        }
    }

    /// Churns until standard input closes (bounded by a count as well); prints the rounds.
    private func churnUntilStdinCloses(_ population: Population, _ endpoint: SocketEndpoint) throws {
        var rounds = 0
        while rounds < 100_000_000 {
            var input = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            if poll(&input, 1, 0) > 0 {
                var byte: UInt8 = 0
                if read(STDIN_FILENO, &byte, 1) <= 0 { break }
            }
            try population.churn(endpoint)
            rounds += 1
        }
        print("CHURNED \(rounds)")
    }
}
