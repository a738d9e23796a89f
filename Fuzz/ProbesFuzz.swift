// libFuzzer harness over the probes file parser (Sources/Probes/ProbeConfig.swift with the
// types it builds), on libyaml through ConfigFile, compiled without SwiftPM: see Fuzz/run.sh. Whatever the text: a
// configuration within the limits or a ProbeConfigError, never a trap, an out-of-bounds read
// (ASan) or a hang.

@_cdecl("LLVMFuzzerTestOneInput")
public func probesFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do throws(ProbeConfigError) {
        let config = try ProbeConfig.parse(yaml: text, file: "fuzz.yml")
        precondition(config.probes.count <= ProbeConfig.Limits.probes)
        for probe in config.probes {
            precondition(!probe.name.isEmpty && probe.name.utf8.count <= ProbeConfig.Limits.fieldBytes["name"]!)
            precondition((probe.send?.count ?? 0) <= ProbeConfig.Limits.payloadBytes)
            precondition((probe.expect?.count ?? 0) <= ProbeConfig.Limits.payloadBytes)
            precondition(probe.timeout > .zero && probe.timeout <= probe.interval && probe.interval <= ProbeDuration.maximum)
            // What the parser accepted, the duration formatter writes back the same.
            precondition(ProbeDuration.parse(ProbeDuration.format(probe.interval)) == probe.interval)
        }
        precondition(Set(config.probes.map(\.name)).count == config.probes.count, "names are unique")
    } catch {
        precondition(error.file == "fuzz.yml" && !error.message.isEmpty)
    }
    return 0
}
