import SystemCalls

extension ConfigFile {
    /// The file's text: a regular file (not a FIFO or a device, which could block or never
    /// end) of at most `limit` bytes, in UTF-8.
    public static func text(of path: String, limit: Int = 1 << 20) throws(Failure) -> String {
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.readRegularFile(path, limit: limit)
        } catch let .system(errno) {
            throw Failure(message: "cannot read the file: \(errno)")
        } catch {
            throw Failure(message: "\(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure(message: "the file is not UTF-8 text")
        }
        return text
    }
}
