#if canImport(Glibc)
import Glibc
#endif
/// Version facts shown by `--version` and `portpressure_build_info`.
enum BuildInfo {
    static let version = "0.1.0"
    /// The source revision; release builds may set it through the environment at run time
    /// (`PORTPRESSURE_REVISION`), since SwiftPM has no build-time stamping.
    static var revision: String {
        if let value = getenv("PORTPRESSURE_REVISION") { return String(cString: value) }
        return "unknown"
    }
}
