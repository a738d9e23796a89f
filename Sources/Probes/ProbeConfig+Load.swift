import SockDiag

// Reading the file, apart from parsing it, so that the parser builds without SockDiag
// (the probes fuzz target, Fuzz/ProbesFuzz.swift, compiles it alone).
extension ProbeConfig {
    /// Reads and parses the file at `path`: a regular file (not a FIFO or a device) of at
    /// most `Limits.fileBytes`.
    public static func load(file path: String) throws(ProbeConfigError) -> ProbeConfig {
        let data: [UInt8]
        do {
            data = try ProcFile.readRegularFile(path, limit: Limits.fileBytes)
        } catch let .system(errno) {
            throw ProbeConfigError(file: path, message: "cannot read the file: \(errno)")
        } catch {
            throw ProbeConfigError(file: path, message: "\(error)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ProbeConfigError(file: path, message: "the file is not UTF-8 text")
        }
        return try parse(yaml: text, file: path)
    }
}
