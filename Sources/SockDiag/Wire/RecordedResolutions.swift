import SocketModel

/// One exact lookup as asked (`SockDiagClient.lookup`): which socket would receive a packet
/// from `remote` to `local`, scoped by `interfaceIndex`.
public struct ExactLookup: Sendable, Hashable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var local: SocketEndpoint
    public var remote: SocketEndpoint
    public var interfaceIndex: UInt32

    public init(proto: TransportProtocol, local: SocketEndpoint, remote: SocketEndpoint, interfaceIndex: UInt32 = 0) {
        self.proto = proto
        self.local = local
        self.remote = remote
        self.interfaceIndex = interfaceIndex
    }

    public var description: String { "\(proto.name) \(local) <- \(remote) if \(interfaceIndex)" }
}

/// What an exact lookup came back with, as a recording keeps it.
public enum LookupAnswer: Sendable, Hashable {
    /// The kernel returned the socket with this cookie.
    case socket(cookie: UInt64)
    /// The kernel found none (`ENOENT`).
    case noSocket
    /// The lookup failed; the error as the live run described it.
    case failed(String)
}

/// The answers of the I/O that patches a snapshot after its dumps (exact lookups, cgroup
/// paths), as recorded beside the dumps, so that a replay resolves what the live run resolved.
public struct RecordedResolutions: Sendable, Equatable {
    public private(set) var lookups: [ExactLookup: LookupAnswer] = [:]
    /// Cgroup id → its path, or nil when the live run could not resolve it.
    public private(set) var cgroupPaths: [UInt64: String?] = [:]

    public init() {}

    /// The recorded answer, nil when this lookup was not recorded.
    public func answer(to lookup: ExactLookup) -> LookupAnswer? { lookups[lookup] }

    /// The recorded path, nil when unknown live or not recorded.
    public func cgroupPath(for id: UInt64) -> String? { cgroupPaths[id] ?? nil }

    /// Adds an answer; false when this lookup already has one.
    mutating func add(_ lookup: ExactLookup, _ answer: LookupAnswer) -> Bool {
        lookups.updateValue(answer, forKey: lookup) == nil
    }

    /// Adds a cgroup resolution; false when this id already has one.
    mutating func addCgroup(_ id: UInt64, path: String?) -> Bool {
        cgroupPaths.updateValue(path, forKey: id) == nil
    }
}
