import SocketModel

/// One line of a population: `KIND:COUNT:ENDPOINT`, e.g. `tcp:5000:127.0.0.1:8080`.
struct Recipe: Sendable, CustomStringConvertible {
    enum Kind: String, CaseIterable, Sendable {
        /// COUNT listeners on consecutive ports from ENDPOINT's port.
        case listen
        /// COUNT plain `connect()`s to ENDPOINT (a listener there accepts them).
        case tcp
        /// `bind(loopback, 0)` then `connect()`: the port is locked for everyone.
        case tcpBind = "tcp-bind"
        /// `IP_BIND_ADDRESS_NO_PORT`, `bind(loopback, 0)`, `connect()`.
        case tcpBindNoPort = "tcp-bind-noport"
        /// `connect()` then close from this side: the client port stays in TIME_WAIT.
        case tcpTimeWait = "tcp-timewait"
        /// `bind(ENDPOINT address, 0)` and nothing else (bound-but-inactive).
        case tcpBound = "tcp-bound"
        /// `connect()`ed UDP sockets toward ENDPOINT.
        case udp
        /// UDP sockets bound to (ENDPOINT address, 0), never connected.
        case udpUnconnected = "udp-unconnected"
        /// COUNT duplicate 4-tuples: two `SO_REUSEADDR` UDP sockets on one port, both connected to ENDPOINT.
        case udpDuplicate = "udp-dup"
    }

    let kind: Kind
    let count: Int
    let endpoint: SocketEndpoint

    var description: String { "\(kind.rawValue):\(count):\(endpoint)" }

    /// Parses `KIND:COUNT:ENDPOINT`; nil with a reason otherwise.
    static func parse(_ text: String) -> Result<Recipe, RecipeError> {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(RecipeError("\(text.debugDescription): want KIND:COUNT:ADDRESS:PORT")) }
        guard let kind = Kind(rawValue: String(parts[0])) else {
            let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(RecipeError("\(text.debugDescription): unknown kind \(parts[0].debugDescription) (one of \(kinds))"))
        }
        guard let count = Int(parts[1]), count >= 0, count <= 1_000_000 else {
            return .failure(RecipeError("\(text.debugDescription): COUNT must be 0...1000000"))
        }
        guard let endpoint = SocketEndpoint(String(parts[2])) else {
            return .failure(RecipeError("\(text.debugDescription): bad endpoint \(parts[2].debugDescription) (want 1.2.3.4:80 or [::1]:80)"))
        }
        return .success(Recipe(kind: kind, count: count, endpoint: endpoint))
    }
}

struct RecipeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
