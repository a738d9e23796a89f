import Foundation

/// Certificates made with the `openssl` command in a fresh temporary directory: a CA, a
/// server certificate for localhost/127.0.0.1, a client certificate, an expired client
/// certificate (same CA), and a client certificate from another CA. File names:
/// ca.crt, server.crt/.key, client.crt/.key, expired.crt/.key, other-ca.crt, stranger.crt/.key.
public struct TestCertificates: Sendable {
    public let directory: String

    public init() throws {
        directory = NSTemporaryDirectory() + "portpressure-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeCA("ca", subject: "/CN=portpressure test CA")
        try makeCA("other-ca", subject: "/CN=another CA")
        try issue("server", by: "ca", subject: "/CN=localhost",
                  extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        try issue("client", by: "ca", subject: "/CN=prometheus", extensions: "extendedKeyUsage=clientAuth\n")
        // A negative validity puts notAfter before now: expired.
        try issue("expired", by: "ca", subject: "/CN=expired", extensions: "extendedKeyUsage=clientAuth\n", days: -1)
        try issue("stranger", by: "other-ca", subject: "/CN=stranger", extensions: "extendedKeyUsage=clientAuth\n")
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    /// Issues a new server certificate and key from the CA and moves both over server.crt and
    /// server.key (rename, as cert-manager and kubelet do); returns its serial.
    @discardableResult
    public func rotateServerCertificate() throws -> String {
        try issue("server-next", by: "ca", subject: "/CN=localhost",
                  extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        guard rename(path("server-next.key"), path("server.key")) == 0, rename(path("server-next.crt"), path("server.crt")) == 0 else {
            throw NetworkNamespace.Failure("rename: \(String(cString: strerror(errno)))")
        }
        return try serial(ofCertificateFile: path("server.crt"))
    }

    /// `openssl x509 -serial` of a PEM file.
    public func serial(ofCertificateFile file: String) throws -> String {
        try Self.openssl(["x509", "-in", file, "-noout", "-serial"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The serial of the certificate a TLS server on 127.0.0.1:`port` presents (openssl s_client).
    public func servedSerial(port: UInt16) throws -> String {
        let result = try ProcessResult.run(["sh", "-c",
            "openssl s_client -connect 127.0.0.1:\(port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        guard result.status == 0 else { throw NetworkNamespace.Failure("s_client to port \(port): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private func makeCA(_ name: String, subject: String) throws {
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path(name + ".key"), "-out", path(name + ".crt"),
                          "-days", "3", "-subj", subject])
    }

    private func issue(_ name: String, by ca: String, subject: String, extensions: String, days: Int = 3) throws {
        try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", subject])
        try extensions.write(toFile: path(name + ".ext"), atomically: true, encoding: .utf8)
        try Self.openssl(["x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"), "-CAkey", path(ca + ".key"),
                          "-set_serial", "0x" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16),
                          "-out", path(name + ".crt"), "-days", String(days), "-extfile", path(name + ".ext")])
    }

    @discardableResult
    static func openssl(_ arguments: [String]) throws -> String {
        let result = try ProcessResult.run(["openssl"] + arguments)
        guard result.status == 0 else {
            throw NetworkNamespace.Failure("openssl \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }
}

/// `curl` against a local server: the HTTP status (0 when no response) and curl's exit code.
public enum Curl {
    public struct Outcome: Sendable {
        /// curl's exit status: 0 for a response, e.g. 35 for a failed TLS handshake, 52 for an empty reply.
        public let exitCode: Int32
        /// The response's status, 0 when there was none.
        public let status: Int
        public let headers: String
        public let body: String
    }

    /// Runs `curl -sS` with `arguments` and `url`; never throws for HTTP or TLS failures.
    public static func get(_ url: String, _ arguments: [String] = []) throws -> Outcome {
        let headerFile = NSTemporaryDirectory() + "curl-headers-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: headerFile) }
        let result = try ProcessResult.run(["curl", "-sS", "--max-time", "20", "-D", headerFile, "-w", "\n%{http_code}"] + arguments + [url])
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        let headers = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        return Outcome(exitCode: result.status, status: status, headers: headers, body: lines.joined(separator: "\n"))
    }
}

/// A password and its bcrypt hash (cost 10, `$2b$`), for web configuration files in tests.
public enum TestPassword {
    public static let plain = "secret"
    public static let bcrypt = "$2b$10$9daZCxKgH/TMMvWIr65R1.7xjxhA1A7Ytq.VudGKLDxXtfGDp3BI2"
}
