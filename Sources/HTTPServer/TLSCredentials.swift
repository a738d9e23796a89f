import CGnuTLS
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The GnuTLS certificate credentials every new TLS connection gets, re-read when the
/// certificate, key or client CA file changes (cert-manager and systemd `LoadCredential=`
/// replace files in place), so a rotated certificate is served without a restart.
///
/// libmicrohttpd holds one credentials object per daemon; instead, each connection is given
/// the current one when it starts (`prepare(session:)`, from MHD's connection notification),
/// before its handshake. Each connection holds a reference to the credentials it was given
/// until MHD reports it closed, so replaced credentials are freed when their last connection goes.
final class TLSCredentialStore: Sendable {
    let settings: TLSSettings
    private let logger: Logger
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var current: TLSCredentials
        var stamps: [FileStamp?]
        /// Every credentials object this store made that is still alive (weakly held).
        var generations: [WeakCredentials] = []
        /// The stamps of the last files that failed to load, so a broken rotation is logged once.
        var failedStamps: [FileStamp?]?
    }

    /// Loads the files and checks the priority string; throws what is wrong with them.
    init(settings: TLSSettings, logger: Logger) throws(HTTPServerError) {
        try TLSCredentials.checkPriorities(settings.priorities)
        let stamps = Self.stamps(settings)
        let credentials = try TLSCredentials(settings: settings)
        self.settings = settings
        self.logger = logger
        self.state = Mutex(State(current: credentials, stamps: stamps, generations: [WeakCredentials(credentials)]))
    }

    /// How many credentials objects are alive: the current one, plus replaced ones that
    /// connections opened before the replacement still hold.
    var liveGenerations: Int {
        state.withLock { state in state.generations.count { $0.credentials != nil } }
    }

    /// The credentials for a connection starting now, reloaded first if a file changed.
    func currentCredentials() -> TLSCredentials {
        let stamps = Self.stamps(settings)
        return state.withLock { state in
            guard stamps != state.stamps, stamps != state.failedStamps else { return state.current }
            do {
                let fresh = try TLSCredentials(settings: settings)
                state.current = fresh
                state.generations.removeAll { $0.credentials == nil }
                state.generations.append(WeakCredentials(fresh))
                state.stamps = stamps
                state.failedStamps = nil
                logger.info("TLS certificate files changed: reloaded", metadata: ["cert_file": "\(settings.certificateFile)"])
            } catch {
                // Mid-rotation (a new certificate beside the old key) or broken: keep serving
                // the last good credentials and try again when the files change again.
                state.failedStamps = stamps
                logger.error("TLS certificate files changed but cannot be loaded; still serving the previous certificate",
                             metadata: ["err": "\(error)"])
            }
            return state.current
        }
    }

    /// Gives a new connection's GnuTLS session the current credentials and the client
    /// certificate policy; returns the credentials, which the connection must keep alive as long
    /// as its session, or nil if GnuTLS refuses (the handshake then fails).
    func prepare(session: gnutls_session_t) -> TLSCredentials? {
        let credentials = currentCredentials()
        guard gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials.handle)) == 0 else {
            return nil
        }
        let request: gnutls_certificate_request_t
        switch settings.clientCertificates {
        case .none: request = GNUTLS_CERT_IGNORE
        case .request, .verifyIfGiven: request = GNUTLS_CERT_REQUEST
        case .requireAny, .requireAndVerify: request = GNUTLS_CERT_REQUIRE
        }
        gnutls_certificate_server_set_request(session, request)
        return credentials
    }

    private static func stamps(_ settings: TLSSettings) -> [FileStamp?] {
        [settings.certificateFile, settings.keyFile, settings.clientCAFile].map { $0.flatMap(FileStamp.init(path:)) }
    }
}

struct WeakCredentials {
    weak var credentials: TLSCredentials?

    init(_ credentials: TLSCredentials) { self.credentials = credentials }
}

/// What identifies a file's content cheaply: a replaced file (new inode) or one written in
/// place (mtime, ctime, size) has a different stamp. stat(2) follows symlinks, so a
/// Kubernetes Secret volume's `..data` swap counts too.
struct FileStamp: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: timespec
    let changed: timespec

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
        changed = info.st_ctim
    }

    static func == (lhs: FileStamp, rhs: FileStamp) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
            && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
            && lhs.changed.tv_sec == rhs.changed.tv_sec && lhs.changed.tv_nsec == rhs.changed.tv_nsec
    }
}

/// One `gnutls_certificate_credentials_t`: the server's certificate chain and key, the client
/// CAs, and the client-certificate verification callback when the policy verifies.
final class TLSCredentials: @unchecked Sendable {
    // Immutable after init; GnuTLS allows concurrent sessions to share credentials.
    let handle: gnutls_certificate_credentials_t

    /// Reads the files; throws naming the file GnuTLS could not use.
    init(settings: TLSSettings) throws(HTTPServerError) {
        var allocated: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&allocated) == 0, let handle = allocated else {
            throw .security("cannot allocate GnuTLS credentials")
        }
        var success = false
        defer { if !success { gnutls_certificate_free_credentials(handle) } }

        let loaded = gnutls_certificate_set_x509_key_file2(handle, settings.certificateFile, settings.keyFile, GNUTLS_X509_FMT_PEM, nil, 0)
        guard loaded >= 0 else {
            throw .security("cannot load cert_file \(settings.certificateFile) with key_file \(settings.keyFile): \(Self.describe(loaded))")
        }
        if let caFile = settings.clientCAFile {
            // Go's AppendCertsFromPEM skips what is not a certificate; an unreadable file is an error.
            guard access(caFile, R_OK) == 0 else {
                throw .security("cannot read client_ca_file \(caFile): \(String(cString: strerror(errno)))")
            }
            let count = gnutls_certificate_set_x509_trust_file(handle, caFile, GNUTLS_X509_FMT_PEM)
            guard count >= 0 else { throw .security("cannot load client_ca_file \(caFile): \(Self.describe(count))") }
        } else if settings.clientCertificates.verifies {
            let count = gnutls_certificate_set_x509_system_trust(handle)
            guard count >= 0 else { throw .security("cannot load the system's trusted CAs: \(Self.describe(count))") }
        }
        if settings.clientCertificates.verifies {
            gnutls_certificate_set_verify_function(handle, verifyClientCertificate)
        }
        self.handle = handle
        success = true
    }

    deinit { gnutls_certificate_free_credentials(handle) }

    /// Throws GnuTLS's complaint, with the part of `priorities` it stopped at.
    static func checkPriorities(_ priorities: String) throws(HTTPServerError) {
        var cache: gnutls_priority_t?
        var errorPosition: UnsafePointer<CChar>?
        let status = priorities.withCString { text in
            let status = gnutls_priority_init2(&cache, text, &errorPosition, 0)
            if status != 0, let errorPosition {
                let offset = text.distance(to: errorPosition)
                let rest = String(priorities.utf8.dropFirst(offset)) ?? ""
                return (status, rest)
            }
            return (status, "")
        }
        if let cache { gnutls_priority_deinit(cache) }
        guard status.0 == 0 else {
            throw .security("GnuTLS refuses the TLS settings (priority string \(priorities.debugDescription), at \(status.1.debugDescription)): \(describe(status.0))")
        }
    }

    static func describe(_ status: Int32) -> String {
        String(cString: gnutls_strerror(status))
    }
}

/// The TLS Web Client Authentication key purpose, as GnuTLS wants it (a C string that lives forever).
private nonisolated(unsafe) let clientAuthPurpose: UnsafeMutablePointer<CChar> = strdup(GNUTLS_KP_TLS_WWW_CLIENT)!

/// gnutls_certificate_verify_function, run during the handshake once the client's certificate
/// arrived: a certificate must chain to a trusted CA, be within its validity period and allow
/// client authentication (Go's checks); non-zero fails the handshake. Whether a certificate is
/// required at all is the session's request mode.
func verifyClientCertificate(session: gnutls_session_t?) -> Int32 {
    guard let session else { return GNUTLS_E_CERTIFICATE_ERROR }
    var count: UInt32 = 0
    guard gnutls_certificate_get_peers(session, &count) != nil, count > 0 else { return 0 }
    var purpose = gnutls_typed_vdata_st(type: GNUTLS_DT_KEY_PURPOSE_OID,
                                        data: UnsafeMutableRawPointer(clientAuthPurpose).assumingMemoryBound(to: UInt8.self), size: 0)
    var status: UInt32 = 0
    guard gnutls_certificate_verify_peers(session, &purpose, 1, &status) == 0, status == 0 else {
        return GNUTLS_E_CERTIFICATE_ERROR
    }
    return 0
}
