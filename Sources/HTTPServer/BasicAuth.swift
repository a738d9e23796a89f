import CCrypt
import FoundationEssentials
import Synchronization

/// HTTP basic authentication against bcrypt hashes, as exporter-toolkit does it:
/// - an unknown user is checked against a hash of the same cost, so the answer takes as
///   long as for a known one and timing does not tell which users exist;
/// - a cache of recent results, keyed by user, hash and password, so a scrape every 15 s
///   does not pay bcrypt's cost (tens of milliseconds) each time;
/// - one bcrypt at a time: a flood of wrong passwords keeps one core busy, not all, and
///   requests whose result is cached (Prometheus's scrapes) never wait for it.
final class BasicAuthenticator: Sendable {
    private let users: [String: String]
    /// A hash of a random password at the users' highest cost, for unknown users.
    private let decoyHash: String
    private let cache = Mutex(AuthCache())
    private let bcryptTurn = Mutex(())

    init(users: [String: String]) throws(HTTPServerError) {
        for (user, hash) in users.sorted(by: { $0.key < $1.key }) where Bcrypt.hash(password: "", setting: hash) == nil {
            throw .security("basic_auth_users.\(user): libcrypt cannot check this hash")
        }
        self.users = users
        let cost = users.values.compactMap(BcryptHash.cost).max() ?? 10
        guard let decoy = Bcrypt.hash(password: UUID().uuidString, cost: cost) else {
            throw .security("libcrypt cannot make a bcrypt hash (cost \(cost))")
        }
        decoyHash = decoy
    }

    /// Whether the `Authorization` header names a user with the right password.
    func authorizes(_ authorization: String?) -> Bool {
        guard let (user, password) = Self.credentials(authorization) else { return false }
        let known = users[user]
        let hash = known ?? decoyHash
        let key = AuthCache.Key(user: user, hash: hash, password: password)
        if let cached = cache.withLock({ $0.result(for: key) }) {
            return cached && known != nil
        }
        let matches = bcryptTurn.withLock { _ in Bcrypt.matches(password: password, hash: hash) }
        cache.withLock { $0.store(matches, for: key) }
        return matches && known != nil
    }

    /// `Basic base64(user:password)` (scheme case-insensitive, as Go's `Request.BasicAuth`);
    /// nil when absent or malformed.
    static func credentials(_ authorization: String?) -> (user: String, password: String)? {
        guard let authorization else { return nil }
        let prefix = "basic "
        guard authorization.utf8.count > prefix.utf8.count,
              authorization.prefix(prefix.count).lowercased() == prefix,
              let decoded = Data(base64Encoded: String(authorization.dropFirst(prefix.count))),
              let text = String(data: decoded, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The 401 every unauthenticated request gets, on every path.
    static let challenge = HTTPResponse.text(401, "Unauthorized\n", headers: [HTTPHeader(name: "WWW-Authenticate", value: "Basic")])
}

/// Recent authentication results (success and failure). Bounded: when full, a tenth of the
/// entries, chosen at random, make room.
struct AuthCache {
    struct Key: Hashable {
        let user: String
        let hash: String
        let password: String
    }

    static let capacity = 100
    private var results: [Key: Bool] = [:]

    func result(for key: Key) -> Bool? { results[key] }

    mutating func store(_ result: Bool, for key: Key) {
        if results.count >= Self.capacity {
            for _ in 0...(results.count / 10) {
                guard let victim = results.keys.randomElement() else { break }
                results[victim] = nil
            }
        }
        results[key] = result
    }

    var count: Int { results.count }
}

/// bcrypt through libcrypt's crypt_r (libxcrypt: `$2a$`, `$2b$`, `$2y$`).
enum Bcrypt {
    /// Whether `password` hashes to `hash`, compared in constant time.
    static func matches(password: String, hash: String) -> Bool {
        guard let computed = self.hash(password: password, setting: hash) else { return false }
        let a = Array(computed.utf8), b = Array(hash.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// crypt_r(password, setting): the hash, or nil if libcrypt refuses (an invalid setting,
    /// or a password with a NUL byte, which C strings cannot carry).
    static func hash(password: String, setting: String) -> String? {
        guard !password.utf8.contains(0) else { return nil }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            // The work area holds the password; clear it before giving the memory back.
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, setting, data) else { return nil }
        let text = String(cString: result)
        // libcrypt's failure tokens start with "*".
        return text.hasPrefix("*") ? nil : text
    }

    /// A new `$2b$` hash of `password` at `cost`, with a random salt from libcrypt.
    static func hash(password: String, cost: Int) -> String? {
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, &setting, Int32(setting.count)) != nil else { return nil }
        return hash(password: password, setting: String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// The shape checks Go's `bcrypt.Cost` makes (what exporter-toolkit validates users with),
/// narrowed to the variants libcrypt checks: `$2a$`, `$2b$`, `$2y$`.
public enum BcryptHash {
    /// nil when `hash` is usable, else why not.
    public static func problem(_ hash: String) -> String? {
        switch parse(hash) {
        case .success: nil
        case let .failure(problem): problem.text
        }
    }

    /// The cost of a usable hash; nil for one `problem` refuses.
    static func cost(_ hash: String) -> Int? {
        try? parse(hash).get()
    }

    private struct Problem: Error { let text: String }

    private static func parse(_ hash: String) -> Result<Int, Problem> {
        let bytes = Array(hash.utf8)
        // $2?$cc$ + 22 characters of salt + 31 of hash.
        guard bytes.count >= 59 else { return .failure(Problem(text: "too short (\(bytes.count) characters; a bcrypt hash has 60)")) }
        guard bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"), bytes[3] == UInt8(ascii: "$"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]) else {
            return .failure(Problem(text: "must start with $2a$, $2b$ or $2y$"))
        }
        guard let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), bytes[6] == UInt8(ascii: "$") else {
            return .failure(Problem(text: "no cost after the prefix"))
        }
        guard (4...31).contains(cost) else { return .failure(Problem(text: "cost \(cost) is outside 4...31")) }
        return .success(cost)
    }
}
