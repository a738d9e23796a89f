import ArgumentParser

/// `portpressure report` (not yet implemented).
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Not yet implemented.")

    func run() async throws {
        throw ValidationError("portpressure report is not implemented yet")
    }
}
