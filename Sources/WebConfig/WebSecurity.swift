import HTTPServer

extension WebConfig {
    /// The HTTPServer settings this configuration asks for; throws for what libmicrohttpd and
    /// GnuTLS cannot honour (a cipher list GnuTLS would widen, min_version above max_version).
    public func httpSecurity() throws(WebConfigError) -> HTTPSecurity {
        var tlsSettings: TLSSettings?
        if let tls {
            let policy: ClientCertificatePolicy = switch tls.clientAuth {
            case .noClientCert: .none
            case .requestClientCert: .request
            case .requireAnyClientCert: .requireAny
            case .verifyClientCertIfGiven: .verifyIfGiven
            case .requireAndVerifyClientCert: .requireAndVerify
            }
            tlsSettings = TLSSettings(certificateFile: tls.certFile, keyFile: tls.keyFile, clientCertificates: policy,
                                      clientCAFile: tls.clientCAFile, priorities: try tls.gnutlsPriorities())
        }
        return HTTPSecurity(tls: tlsSettings, basicAuthUsers: users,
                            responseHeaders: headers)
    }

    /// Everything `serve --web.config.file` checks before it listens, and what
    /// `promtool check web-config` checks: the file parses and validates, and the certificate,
    /// key and client CA files load (with GnuTLS, as the server will), as do the password
    /// hashes (with libcrypt). Returns the settings to serve with.
    public static func validate(file path: String) throws(WebConfigError) -> (config: WebConfig, security: HTTPSecurity) {
        let config = try load(file: path)
        var security: HTTPSecurity
        do {
            security = try config.httpSecurity()
        } catch var error {
            error.file = path
            throw error
        }
        do {
            try HTTPSecurity.check(security)
        } catch {
            throw WebConfigError(file: path, message: "\(error)")
        }
        return (config, security)
    }
}
