import ConfigFile
import HTTPServer
import SystemPackage

/// The exporter-toolkit web configuration file (`--web.config.file`), as Prometheus and its
/// exporters read it:
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.crt            # relative paths are relative to this file
///   key_file: server.key
///   client_auth_type: RequireAndVerifyClientCert
///   client_ca_file: clients-ca.crt
///   min_version: TLS12
/// http_server_config:
///   headers:
///     Strict-Transport-Security: max-age=31536000
/// basic_auth_users:
///   prometheus: $2y$10$...           # bcrypt hash
/// ```
///
/// Parsed strictly and validated by the rules of exporter-toolkit v0.8 (what `promtool check
/// web-config` applies): an unknown or duplicate key, an unknown cipher, curve, version or
/// client_auth_type, a header that may not be set, a password that is not a bcrypt hash, a
/// certificate without key are errors naming the field. Parsing reads no other file; checking
/// the certificate files is `TLSServerSettings`'s job when it loads them.
public struct WebConfig: Sendable, Equatable {
    /// nil when the file configures no TLS (none of cert_file, key_file, client_auth_type,
    /// client_ca_file set): plain HTTP, as exporter-toolkit does.
    public var tls: TLSServerConfig?
    /// `http_server_config.http2`: accepted for compatibility; libmicrohttpd speaks HTTP/1.1 only.
    public var http2: Bool
    /// `http_server_config.headers`, sorted by name: added to every response.
    public var headers: [HTTPHeader]
    /// `basic_auth_users`: user name to bcrypt hash. Empty: no authentication.
    public var users: [String: String]

    public init(tls: TLSServerConfig? = nil, http2: Bool = true, headers: [HTTPHeader] = [], users: [String: String] = [:]) {
        self.tls = tls
        self.http2 = http2
        self.headers = headers
        self.users = users
    }

    /// Reads and parses the file at `path`; relative paths in it are resolved against its directory.
    public static func load(file path: String) throws(WebConfigError) -> WebConfig {
        let text: String
        do { text = try ConfigFile.text(of: path) } catch { throw WebConfigError(file: path, message: error.message) }
        let directory = FilePath(path).removingLastComponent().string
        return try parse(yaml: text, directory: directory.isEmpty ? "." : directory, file: path)
    }

    /// Parses a configuration. Relative file paths are joined to `directory`; `file` only names
    /// the file in errors.
    public static func parse(yaml: String, directory: String, file: String? = nil) throws(WebConfigError) -> WebConfig {
        let root: YAMLNode?
        do { root = try ConfigFile.compose(yaml: yaml) } catch { throw WebConfigError(file: file, message: error.message) }
        // An empty file is a valid configuration: plain HTTP, no authentication.
        guard let root, !root.isNull else { return WebConfig() }
        return try WebConfigParser(file: file, directory: directory).config(root)
    }
}

/// `tls_server_config`, validated; file paths absolute or relative to the working directory.
public struct TLSServerConfig: Sendable, Equatable {
    public var certFile: String
    public var keyFile: String
    public var clientAuth: ClientAuthType
    public var clientCAFile: String?
    public var minVersion: TLSVersion
    public var maxVersion: TLSVersion
    /// Empty: GnuTLS's defaults. Otherwise in preference order, as written.
    public var cipherSuites: [CipherSuite]
    /// Empty: GnuTLS's defaults. Otherwise in preference order, as written.
    public var curvePreferences: [Curve]
    public var preferServerCipherSuites: Bool

    public init(certFile: String, keyFile: String, clientAuth: ClientAuthType = .noClientCert, clientCAFile: String? = nil,
                minVersion: TLSVersion = .tls12, maxVersion: TLSVersion = .tls13, cipherSuites: [CipherSuite] = [],
                curvePreferences: [Curve] = [], preferServerCipherSuites: Bool = true) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientAuth = clientAuth
        self.clientCAFile = clientCAFile
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.cipherSuites = cipherSuites
        self.curvePreferences = curvePreferences
        self.preferServerCipherSuites = preferServerCipherSuites
    }
}

/// Go's `tls.ClientAuthType` values by the names exporter-toolkit accepts.
public enum ClientAuthType: String, Sendable, CaseIterable {
    case noClientCert = "NoClientCert"
    case requestClientCert = "RequestClientCert"
    case requireAnyClientCert = "RequireAnyClientCert"
    case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
    case requireAndVerifyClientCert = "RequireAndVerifyClientCert"
}

public enum TLSVersion: String, Sendable, CaseIterable, Comparable {
    case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

    /// GnuTLS's name for the version in a priority string.
    public var gnutlsName: String {
        switch self {
        case .tls10: "VERS-TLS1.0"
        case .tls11: "VERS-TLS1.1"
        case .tls12: "VERS-TLS1.2"
        case .tls13: "VERS-TLS1.3"
        }
    }

    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The curves exporter-toolkit names.
public enum Curve: String, Sendable, CaseIterable {
    case p256 = "CurveP256", p384 = "CurveP384", p521 = "CurveP521", x25519 = "X25519"

    public var gnutlsName: String {
        switch self {
        case .p256: "GROUP-SECP256R1"
        case .p384: "GROUP-SECP384R1"
        case .p521: "GROUP-SECP521R1"
        case .x25519: "GROUP-X25519"
        }
    }
}

/// A cipher suite by its Go (IANA) name: the ones Go's `tls.CipherSuites()` lists, which
/// exporter-toolkit accepts. GnuTLS composes suites from key exchange, cipher and MAC, so each
/// TLS 1.2 suite is those three parts; TLS 1.3 suites are not configurable in Go (listing
/// them changes nothing) and have no parts here.
public struct CipherSuite: Sendable, Hashable {
    public let name: String
    /// nil for TLS 1.3 suites.
    public let parts: Parts?

    public struct Parts: Sendable, Hashable {
        public let keyExchange: String
        public let cipher: String
        public let mac: String
    }

    public static let all: [CipherSuite] = [
        tls12("TLS_RSA_WITH_AES_128_CBC_SHA", "RSA", "AES-128-CBC", "SHA1"),
        tls12("TLS_RSA_WITH_AES_256_CBC_SHA", "RSA", "AES-256-CBC", "SHA1"),
        tls12("TLS_RSA_WITH_AES_128_GCM_SHA256", "RSA", "AES-128-GCM", "AEAD"),
        tls12("TLS_RSA_WITH_AES_256_GCM_SHA384", "RSA", "AES-256-GCM", "AEAD"),
        CipherSuite(name: "TLS_AES_128_GCM_SHA256", parts: nil),
        CipherSuite(name: "TLS_AES_256_GCM_SHA384", parts: nil),
        CipherSuite(name: "TLS_CHACHA20_POLY1305_SHA256", parts: nil),
        tls12("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA", "AES-128-CBC", "SHA1"),
        tls12("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA", "AES-256-CBC", "SHA1"),
        tls12("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1"),
        tls12("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1"),
        tls12("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD"),
        tls12("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD"),
        tls12("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD"),
        tls12("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD"),
        tls12("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD"),
        tls12("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD"),
    ]

    /// The ciphers GnuTLS uses for TLS 1.3; they stay enabled whenever TLS 1.3 is.
    static let tls13Ciphers = ["AES-256-GCM", "CHACHA20-POLY1305", "AES-128-GCM"]

    public static func named(_ name: String) -> CipherSuite? {
        all.first { $0.name == name }
    }

    private static func tls12(_ name: String, _ keyExchange: String, _ cipher: String, _ mac: String) -> CipherSuite {
        CipherSuite(name: name, parts: Parts(keyExchange: keyExchange, cipher: cipher, mac: mac))
    }
}

/// Why a web configuration was refused: the file, the field (dotted path) and the reason.
public struct WebConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String? = nil, line: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = ""
        if let file { text += file }
        if let line { text += "\(text.isEmpty ? "line " : ":")\(line)" }
        if !text.isEmpty { text += ": " }
        if let field { text += "\(field): " }
        return text + message
    }
}
