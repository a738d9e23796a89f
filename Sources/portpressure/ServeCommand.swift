import ArgumentParser

/// `portpressure serve` (not yet implemented).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Not yet implemented.")

    func run() async throws {
        throw ValidationError("portpressure serve is not implemented yet")
    }
}
