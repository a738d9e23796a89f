// The server's hook for HTTPSecurity: what the daemon options and the request handler consult.
import CGnuTLS
import CMicroHTTPD
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// HTTPSecurity made ready: credentials loaded, hashes checked.
final class SecurityContext: Sendable {
    let tls: TLSCredentialStore?
    let authenticator: BasicAuthenticator?
    let responseHeaders: [HTTPHeader]

    init(_ security: HTTPSecurity, logger: Logger) throws(HTTPServerError) {
        tls = try security.tls.map { (settings) throws(HTTPServerError) in try TLSCredentialStore(settings: settings, logger: logger) }
        authenticator = security.basicAuthUsers.isEmpty ? nil : try BasicAuthenticator(users: security.basicAuthUsers)
        responseHeaders = security.responseHeaders
    }

    /// The 401 for a request without valid credentials when authentication is on, else nil.
    func deny(_ request: HTTPRequest) -> HTTPResponse? {
        guard let authenticator, !authenticator.authorizes(request.header("Authorization")) else { return nil }
        return BasicAuthenticator.challenge
    }
}

/// The libmicrohttpd options that turn a daemon's listener into TLS: the GnuTLS priority
/// string, a certificate callback (MHD insists on a certificate source; every connection gets
/// its credentials from the store instead, so it is never asked), and the connection
/// notification that hands each connection the store's current credentials.
struct TLSDaemonOptions {
    let items: [MHD_OptionItem]
    private let priorities: UnsafeMutablePointer<CChar>

    init(store: TLSCredentialStore, context: UnsafeMutableRawPointer) {
        priorities = strdup(store.settings.priorities)!
        // gnutls_certificate_retrieve_function2 is a C function type, not a pointer: spell it out.
        let certificate: @convention(c) (
            gnutls_session_t?, UnsafePointer<gnutls_datum_t>?, Int32, UnsafePointer<gnutls_pk_algorithm_t>?, Int32,
            UnsafeMutablePointer<UnsafeMutablePointer<gnutls_pcert_st>?>?, UnsafeMutablePointer<UInt32>?,
            UnsafeMutablePointer<gnutls_privkey_t?>?
        ) -> Int32 = noDaemonCertificate
        let notify: MHD_NotifyConnectionCallback = connectionNotified
        items = [
            MHD_OptionItem(option: MHD_OPTION.HTTPS_PRIORITIES, value: 0, ptr_value: UnsafeMutableRawPointer(priorities)),
            MHD_OptionItem(option: MHD_OPTION.HTTPS_CERT_CALLBACK, value: 0, ptr_value: unsafeBitCast(certificate, to: UnsafeMutableRawPointer.self)),
            MHD_OptionItem(option: MHD_OPTION.NOTIFY_CONNECTION, value: unsafeBitCast(notify, to: Int.self), ptr_value: context),
        ]
    }

    /// After MHD_start_daemon_va, which has parsed the priority string.
    func release() { free(priorities) }
}

/// gnutls_certificate_retrieve_function2 for the daemon's own credentials, which no session
/// uses (each gets the store's): declines.
private func noDaemonCertificate(
    session: gnutls_session_t?, requestedCAs: UnsafePointer<gnutls_datum_t>?, requestedCount: Int32,
    algorithms: UnsafePointer<gnutls_pk_algorithm_t>?, algorithmCount: Int32,
    certificates: UnsafeMutablePointer<UnsafeMutablePointer<gnutls_pcert_st>?>?, certificateCount: UnsafeMutablePointer<UInt32>?,
    key: UnsafeMutablePointer<gnutls_privkey_t?>?
) -> Int32 {
    -1
}

/// MHD_NotifyConnectionCallback: on a connection's start, before its thread runs the TLS
/// handshake, give its session the current credentials and client-certificate policy, and
/// keep a reference to them in the connection's socket context; on its close (MHD has freed
/// the session by then), drop that reference.
func connectionNotified(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?, socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    code: MHD_ConnectionNotificationCode
) {
    guard let cls, let connection, let socketContext else { return }
    if code == .CONNECTION_NOTIFY_CLOSED {
        if let held = socketContext.pointee {
            Unmanaged<TLSCredentials>.fromOpaque(held).release()
            socketContext.pointee = nil
        }
        return
    }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    guard let store = context.security.tls, let session = pp_connection_tls_session(connection) else { return }
    if let credentials = store.prepare(session: OpaquePointer(session)) {
        socketContext.pointee = Unmanaged.passRetained(credentials).toOpaque()
    } else {
        // Without credentials the handshake fails, which closes the connection.
        context.logger.warning("cannot set up TLS for a new connection")
    }
}

extension HTTPSecurity {
    /// Throws what `HTTPServer` would refuse at start: certificate, key or CA files GnuTLS
    /// cannot load, a priority string it rejects, a hash libcrypt cannot check.
    public static func check(_ security: HTTPSecurity) throws(HTTPServerError) {
        _ = try SecurityContext(security, logger: Logger(label: "portpressure.http.check"))
    }
}
