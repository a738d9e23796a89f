/// Version facts shown by `--version` and `portpressure_build_info`.
enum BuildInfo {
    static let version = "0.1.0"
}
