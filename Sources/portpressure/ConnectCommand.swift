import ArgumentParser

/// `portpressure connect` (not yet implemented).
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connect", abstract: "Not yet implemented.")

    func run() async throws {
        throw ValidationError("portpressure connect is not implemented yet")
    }
}
