/// TLS, basic authentication and fixed response headers for an `HTTPServer` (what a
/// `--web.config.file` configures). Every part is optional.
public struct HTTPSecurity: Sendable {
    /// nil: plain HTTP.
    public var tls: TLSSettings?
    /// User name to bcrypt hash (`$2a$`, `$2b$`, `$2y$`). Non-empty: every request, on every
    /// path, needs HTTP basic authentication as one of these users.
    public var basicAuthUsers: [String: String]
    /// Added to every response (e.g. `Strict-Transport-Security`).
    public var responseHeaders: [HTTPHeader]

    public init(tls: TLSSettings? = nil, basicAuthUsers: [String: String] = [:], responseHeaders: [HTTPHeader] = []) {
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
        self.responseHeaders = responseHeaders
    }
}

/// TLS through libmicrohttpd's GnuTLS. The certificate, key and client CA files are read at
/// start and read again, for new connections, whenever one of them changes.
public struct TLSSettings: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String
    public var clientCertificates: ClientCertificatePolicy
    /// The CAs client certificates must chain to; nil: the system's trust store (for the
    /// verifying policies).
    public var clientCAFile: String?
    /// A GnuTLS priority string: versions, cipher suites, groups.
    public var priorities: String

    public init(certificateFile: String, keyFile: String, clientCertificates: ClientCertificatePolicy = .none,
                clientCAFile: String? = nil, priorities: String = "NORMAL") {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCertificates = clientCertificates
        self.clientCAFile = clientCAFile
        self.priorities = priorities
    }
}

/// What the server asks of clients' certificates: Go's `tls.ClientAuthType`, which the
/// exporter-toolkit's `client_auth_type` names.
public enum ClientCertificatePolicy: Sendable, Equatable {
    /// Not requested (NoClientCert).
    case none
    /// Requested, neither required nor verified (RequestClientCert).
    case request
    /// Required, not verified (RequireAnyClientCert).
    case requireAny
    /// Requested; verified if given (VerifyClientCertIfGiven).
    case verifyIfGiven
    /// Required and verified (RequireAndVerifyClientCert).
    case requireAndVerify

    var verifies: Bool { self == .verifyIfGiven || self == .requireAndVerify }
}
