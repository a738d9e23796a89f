#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// The entries of one directory (`opendir`/`readdir`), without `.` and `..`.
public enum Directory {
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var inode: UInt64
        /// nil when the file system does not say (`DT_UNKNOWN`): ask `lstat` if it matters.
        public var isDirectory: Bool?
    }

    /// Calls `body` with each entry of the directory at `path`, in the order the file system
    /// lists them, reading at most `maximumEntries` entries (`.` and `..` count). Throws when
    /// the directory cannot be opened.
    public static func forEachEntry(_ path: String, maximumEntries: Int = .max, _ body: (Entry) -> Void) throws(Errno) {
        guard let directory = opendir(path) else { throw Errno(rawValue: errno) }
        defer { closedir(directory) }
        var read = 0
        while read < maximumEntries, let entry = readdir(directory) {
            read += 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let type = entry.pointee.d_type
            body(Entry(name: name, inode: UInt64(entry.pointee.d_ino),
                       isDirectory: type == UInt8(DT_UNKNOWN) ? nil : type == UInt8(DT_DIR)))
        }
    }
}
