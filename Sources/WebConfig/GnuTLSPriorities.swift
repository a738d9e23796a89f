extension TLSServerConfig {
    /// The GnuTLS priority string for versions, cipher suites, curves and suite precedence.
    ///
    /// GnuTLS enables every combination of the key exchanges, ciphers and MACs it is given,
    /// where Go enables exactly the suites listed. A `cipher_suites` list whose combinations
    /// would enable a suite it does not name cannot be honoured and is an error (naming the
    /// extra suites), rather than silently widened. With TLS 1.3 enabled its ciphers (AES-GCM,
    /// ChaCha20-Poly1305) stay enabled, as in Go, where TLS 1.3 suites are not configurable.
    public func gnutlsPriorities() throws(WebConfigError) -> String {
        guard minVersion <= maxVersion else {
            throw WebConfigError(field: "tls_server_config.min_version",
                                 message: "\(minVersion.rawValue) is above max_version \(maxVersion.rawValue): no TLS version left")
        }
        let versions = TLSVersion.allCases.filter { (minVersion...maxVersion).contains($0) }.reversed()
        var parts = ["NORMAL", "-VERS-ALL"] + versions.map { "+" + $0.gnutlsName }

        let tls12Suites = cipherSuites.compactMap(\.parts)
        // With TLS 1.3 only, the list changes nothing (as in Go).
        if !cipherSuites.isEmpty && minVersion <= .tls12 {
            let withTLS13 = maxVersion == .tls13
            if tls12Suites.isEmpty {
                throw WebConfigError(field: "tls_server_config.cipher_suites",
                                     message: "lists no suite for TLS 1.2 and earlier while min_version allows them; add one or set min_version: TLS13")
            }
            let keyExchanges = unique(tls12Suites.map(\.keyExchange))
            let ciphers = unique(tls12Suites.map(\.cipher) + (withTLS13 ? CipherSuite.tls13Ciphers : []))
            let macs = unique(tls12Suites.map(\.mac) + (withTLS13 ? ["AEAD"] : []))
            let enabled = CipherSuite.all.filter { suite in
                guard let p = suite.parts else { return false }
                return keyExchanges.contains(p.keyExchange) && ciphers.contains(p.cipher) && macs.contains(p.mac)
            }
            let extra = enabled.filter { suite in !cipherSuites.contains(suite) }
            if !extra.isEmpty {
                throw WebConfigError(
                    field: "tls_server_config.cipher_suites",
                    message: "GnuTLS enables every combination of the listed suites' key exchanges, ciphers and MACs"
                        + (withTLS13 ? " (and TLS 1.3's AES-GCM and ChaCha20 ciphers)" : "")
                        + ", so this list would also enable \(extra.map(\.name).joined(separator: ", ")); add them to the list"
                        + (withTLS13 ? " or set max_version: TLS12" : ""))
            }
            parts += ["-KX-ALL"] + keyExchanges.map { "+" + $0 }
            parts += ["-CIPHER-ALL"] + ciphers.map { "+" + $0 }
            parts += ["-MAC-ALL"] + macs.map { "+" + $0 }
        }
        if !curvePreferences.isEmpty {
            parts += ["-GROUP-ALL"] + unique(curvePreferences.map(\.gnutlsName)).map { "+" + $0 }
        }
        // GnuTLS follows the client's order unless told otherwise; Go's default is the server's.
        if preferServerCipherSuites { parts.append("%SERVER_PRECEDENCE") }
        return parts.joined(separator: ":")
    }

    private func unique(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }
}
