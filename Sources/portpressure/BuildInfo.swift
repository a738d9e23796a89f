import CBuildStamp
import Exporter

/// Version facts shown by `--version` and `portpressure_build_info`.
///
/// The version lives here, in the source; what only the build knows comes from CBuildStamp,
/// which scripts/package-deb stamps from git and a plain `swift build` leaves "unknown".
enum BuildInfo {
    static let version = "0.1.0"
    static var revision: String { String(cString: pp_stamp_revision()) }
    static var branch: String { String(cString: pp_stamp_branch()) }
    /// UTC, as `YYYYMMDD-HH:MM:SS` (the Prometheus binaries' form).
    static var buildDate: String { String(cString: pp_stamp_build_date()) }
    /// The compiler's full version when stamped; otherwise the language version the compiler
    /// itself reports at compile time (true, if less precise).
    static var swiftVersion: String {
        let stamped = String(cString: pp_stamp_swift_version())
        return stamped == "unknown" ? ExporterMetricsCollector.compilerSwiftVersion : stamped
    }

    static var platform: String {
        #if arch(x86_64)
        "linux/amd64"
        #elseif arch(arm64)
        "linux/arm64"
        #else
        "linux/unknown"
        #endif
    }

    /// `--version`, in the shape of the Prometheus binaries' (`prometheus --version`).
    static var versionText: String {
        """
        portpressure, version \(version) (branch: \(branch), revision: \(revision))
          build date:       \(buildDate)
          swift version:    \(swiftVersion)
          platform:         \(platform)
        """
    }
}
