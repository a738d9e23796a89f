import ConfigFile

// Reading the file, apart from parsing it, so that the parser builds without the file reader
// (the probes fuzz target, Fuzz/ProbesFuzz.swift, compiles it alone).
extension ProbeConfig {
    /// Reads and parses the file at `path`: a regular file (not a FIFO or a device) of at
    /// most `Limits.fileBytes`.
    public static func load(file path: String) throws(ProbeConfigError) -> ProbeConfig {
        let text: String
        do { text = try ConfigFile.text(of: path, limit: Limits.fileBytes) } catch {
            throw ProbeConfigError(file: path, message: error.message)
        }
        return try parse(yaml: text, file: path)
    }
}
