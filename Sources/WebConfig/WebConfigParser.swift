import ConfigFile
import HTTPServer
import SystemPackage

/// Walks the composed YAML the way Go's `yaml.UnmarshalStrict` fills exporter-toolkit's
/// structs (unknown keys are errors; any scalar reads as a string), then applies
/// exporter-toolkit's checks. Every error names the field by its dotted path.
struct WebConfigParser {
    let file: String?
    let directory: String

    static let topLevelKeys = ["tls_server_config", "http_server_config", "basic_auth_users"]
    static let tlsKeys = ["cert_file", "key_file", "client_auth_type", "client_ca_file", "cipher_suites", "curve_preferences",
                          "min_version", "max_version", "prefer_server_cipher_suites"]
    static let httpKeys = ["http2", "headers"]

    /// The headers exporter-toolkit lets a user set, with their allowed values (empty: any value).
    static let settableHeaders: [String: [String]] = [
        "Strict-Transport-Security": [],
        "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"],
        "X-XSS-Protection": [],
        "Content-Security-Policy": [],
    ]

    func error(_ node: YAMLNode?, _ field: String?, _ message: String) -> WebConfigError {
        WebConfigError(file: file, line: node?.mark.line, field: field, message: message)
    }

    func config(_ root: YAMLNode) throws(WebConfigError) -> WebConfig {
        let top = try mapping(root, field: nil, known: Self.topLevelKeys)
        var config = WebConfig()
        if let node = top["http_server_config"] {
            let http = try mapping(node, field: "http_server_config", known: Self.httpKeys)
            if let value = http["http2"] { config.http2 = try bool(value, field: "http_server_config.http2") }
            if let value = http["headers"] {
                for (name, (valueNode, _)) in try stringMap(value, field: "http_server_config.headers") {
                    let text = try string(valueNode, field: "http_server_config.headers.\(name)")
                    guard let allowed = Self.settableHeaders[name] else {
                        throw error(valueNode, "http_server_config.headers",
                                    "HTTP header \(name.debugDescription) can not be configured (allowed: \(Self.settableHeaders.keys.sorted().joined(separator: ", ")))")
                    }
                    guard allowed.isEmpty || allowed.contains(text) else {
                        throw error(valueNode, "http_server_config.headers.\(name)",
                                    "invalid value \(text.debugDescription); expected one of \(allowed.map(\.debugDescription).joined(separator: ", "))")
                    }
                    config.headers.append(HTTPHeader(name: name, value: text))
                }
                config.headers.sort { $0.name < $1.name }
            }
        }
        if let node = top["basic_auth_users"] {
            for (user, (hashNode, _)) in try stringMap(node, field: "basic_auth_users") {
                let hash = try string(hashNode, field: "basic_auth_users.\(user)")
                if let problem = BcryptHash.problem(hash) {
                    throw error(hashNode, "basic_auth_users.\(user)", "not a bcrypt hash: \(problem)")
                }
                config.users[user] = hash
            }
        }
        if let node = top["tls_server_config"] {
            config.tls = try tls(node)
        }
        return config
    }

    private func tls(_ node: YAMLNode) throws(WebConfigError) -> TLSServerConfig? {
        let fields = try mapping(node, field: "tls_server_config", known: Self.tlsKeys)
        func text(_ key: String) throws(WebConfigError) -> String {
            guard let value = fields[key] else { return "" }
            return try string(value, field: "tls_server_config.\(key)")
        }
        func version(_ key: String, default fallback: TLSVersion) throws(WebConfigError) -> TLSVersion {
            guard let value = fields[key] else { return fallback }
            let name = try string(value, field: "tls_server_config.\(key)")
            guard let version = TLSVersion(rawValue: name) else {
                throw error(value, "tls_server_config.\(key)",
                            "unknown TLS version \(name.debugDescription) (known: \(TLSVersion.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return version
        }
        // Each list element is checked even when TLS ends up disabled, as yaml.v2 decodes them.
        var suites: [CipherSuite] = []
        if let value = fields["cipher_suites"] {
            for item in try list(value, field: "tls_server_config.cipher_suites") {
                let name = try string(item, field: "tls_server_config.cipher_suites")
                guard let suite = CipherSuite.named(name) else {
                    throw error(item, "tls_server_config.cipher_suites", "unknown cipher \(name.debugDescription)")
                }
                suites.append(suite)
            }
        }
        var curves: [Curve] = []
        if let value = fields["curve_preferences"] {
            for item in try list(value, field: "tls_server_config.curve_preferences") {
                let name = try string(item, field: "tls_server_config.curve_preferences")
                guard let curve = Curve(rawValue: name) else {
                    throw error(item, "tls_server_config.curve_preferences",
                                "unknown curve \(name.debugDescription) (known: \(Curve.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                curves.append(curve)
            }
        }
        let minVersion = try version("min_version", default: .tls12)
        let maxVersion = try version("max_version", default: .tls13)
        let preferServer = try fields["prefer_server_cipher_suites"].map { (value) throws(WebConfigError) in
            try bool(value, field: "tls_server_config.prefer_server_cipher_suites")
        } ?? true
        let certFile = try text("cert_file"), keyFile = try text("key_file")
        let clientAuthName = try text("client_auth_type"), clientCAFile = try text("client_ca_file")

        // exporter-toolkit: none of these four set means no TLS, whatever else the section says.
        if certFile.isEmpty && keyFile.isEmpty && clientAuthName.isEmpty && clientCAFile.isEmpty { return nil }
        guard !certFile.isEmpty else { throw error(node, "tls_server_config.cert_file", "missing (key_file or client settings given without a certificate)") }
        guard !keyFile.isEmpty else { throw error(node, "tls_server_config.key_file", "missing (cert_file given without its key)") }
        let clientAuth: ClientAuthType
        switch clientAuthName {
        case "": clientAuth = .noClientCert
        case "RequireClientCert": clientAuth = .requireAnyClientCert  // exporter-toolkit's old name
        default:
            guard let known = ClientAuthType(rawValue: clientAuthName) else {
                throw error(fields["client_auth_type"], "tls_server_config.client_auth_type",
                            "invalid value \(clientAuthName.debugDescription) (known: \(ClientAuthType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            clientAuth = known
        }
        if !clientCAFile.isEmpty && clientAuth == .noClientCert {
            throw error(fields["client_ca_file"], "tls_server_config.client_ca_file",
                        "client CAs have been configured without a client auth policy (set client_auth_type)")
        }
        return TLSServerConfig(certFile: join(certFile), keyFile: join(keyFile), clientAuth: clientAuth,
                               clientCAFile: clientCAFile.isEmpty ? nil : join(clientCAFile),
                               minVersion: minVersion, maxVersion: maxVersion, cipherSuites: suites, curvePreferences: curves,
                               preferServerCipherSuites: preferServer)
    }

    /// A relative path is relative to the configuration file's directory (Prometheus's JoinDir).
    private func join(_ path: String) -> String {
        path.hasPrefix("/") ? path : FilePath(directory).appending(path).string
    }

    // MARK: YAML shapes

    /// A mapping whose keys must all be in `known`; a null node is an empty mapping.
    private func mapping(_ node: YAMLNode, field: String?, known: [String]) throws(WebConfigError) -> [String: YAMLNode] {
        var result: [String: YAMLNode] = [:]
        for (key, (value, keyNode)) in try stringMap(node, field: field) {
            guard known.contains(key) else {
                throw error(keyNode, field, "unknown field \(key.debugDescription) (known: \(known.joined(separator: ", ")))")
            }
            result[key] = value
        }
        return result
    }

    /// A mapping with string keys, values and key nodes by key (keys are unique: `ConfigFile.compose` refuses duplicates).
    private func stringMap(_ node: YAMLNode, field: String?) throws(WebConfigError) -> [String: (YAMLNode, YAMLNode)] {
        if node.isNull { return [:] }
        guard let mapping = node.mapping else {
            throw error(node, field, field == nil ? "the top level must be a mapping" : "must be a mapping")
        }
        var result: [String: (YAMLNode, YAMLNode)] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error(key, field, "keys must be strings") }
            result[name] = (value, key)
        }
        return result
    }

    private func list(_ node: YAMLNode, field: String) throws(WebConfigError) -> [YAMLNode] {
        if node.isNull { return [] }
        guard let sequence = node.sequence else { throw error(node, field, "must be a list") }
        return Array(sequence)
    }

    /// Any scalar reads as its text (yaml.v2 decodes a number into a string field); null is "".
    private func string(_ node: YAMLNode, field: String) throws(WebConfigError) -> String {
        if node.isNull { return "" }
        guard let scalar = node.scalar else { throw error(node, field, "must be a string") }
        return scalar.string
    }

    /// YAML 1.1 booleans, as yaml.v2 reads them.
    private func bool(_ node: YAMLNode, field: String) throws(WebConfigError) -> Bool {
        guard let scalar = node.scalar else { throw error(node, field, "must be true or false") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on", "y": return true
        case "false", "no", "off", "n": return false
        default: throw error(node, field, "must be true or false, got \(scalar.string.debugDescription)")
        }
    }
}
