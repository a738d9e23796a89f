import ArgumentParser

/// `portpressure probe` (not yet implemented).
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe", abstract: "Not yet implemented.")

    func run() async throws {
        throw ValidationError("portpressure probe is not implemented yet")
    }
}
