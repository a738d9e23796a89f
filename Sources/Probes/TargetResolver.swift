#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ConnectX
import SocketModel
import Synchronization

/// Turns a `ProbeTarget` into an address, at each run: literals directly, names with
/// `getaddrinfo(3)` (the host's resolver configuration, `/etc/hosts` included), as an
/// application would.
///
/// `getaddrinfo` cannot be cancelled or given a timeout, so a name is resolved on a thread of
/// its own while the probe waits at most until its deadline; a lookup that outlives it
/// finishes in the background and is dropped. At most `maximumPending` lookups are in the
/// background at once, so a dead DNS server cannot pile up threads.
enum TargetResolver {
    static let maximumPending = 16
    private static let pending = Atomic<Int>(0)

    enum Failure: Error, Sendable, Hashable {
        /// The deadline passed before the resolver answered.
        case timedOut
        /// The resolver answered with an error (`EAI_NONAME`...), or no address of the family.
        case failed(String)
    }

    /// The first address `getaddrinfo` gives for `target` (in its RFC 6724 order), of
    /// `family` when given (the source's family).
    static func resolve(_ target: ProbeTarget, family: AddressFamily?, proto: TransportProtocol,
                        deadline: ContinuousClock.Instant) throws(Failure) -> ConnectX.Endpoint {
        if let literal = target.literalAddress {
            guard family == nil || literal.family == family else {
                throw .failed("\(target) is \(literal.family.name), the source is \(family!.name)")
            }
            guard let endpoint = ConnectX.Endpoint(parsing: target.description) else {
                throw .failed("\(target.host): no such interface in this network namespace")
            }
            return endpoint
        }
        guard pending.add(1, ordering: .relaxed).newValue <= maximumPending else {
            pending.subtract(1, ordering: .relaxed)
            throw .failed("\(maximumPending) name lookups are still running: the resolver is not answering")
        }
        let lookup = Lookup()
        let host = target.host, port = target.port
        do {
            try ProbeThread.detach {
                let result = addresses(host: host, port: port, family: family, proto: proto)
                lookup.monitor.withLock {
                    lookup.result = result
                    lookup.monitor.broadcast()
                }
                pending.subtract(1, ordering: .relaxed)
            }
        } catch {
            pending.subtract(1, ordering: .relaxed)
            throw .failed("cannot start a thread for the lookup: \(error)")
        }
        let result: Result<ConnectX.Endpoint, Failure>? = lookup.monitor.withLock {
            while lookup.result == nil && ContinuousClock.now < deadline {
                lookup.monitor.wait(until: deadline)
            }
            return lookup.result
        }
        guard let result else { throw .timedOut }
        return try result.get()
    }

    private final class Lookup: @unchecked Sendable {
        let monitor = Monitor()
        /// Guarded by `monitor`.
        var result: Result<ConnectX.Endpoint, Failure>?
    }

    /// `getaddrinfo(3)` for `host`, the first address of `family` (any when nil).
    static func addresses(host: String, port: UInt16, family: AddressFamily?, proto: TransportProtocol)
        -> Result<ConnectX.Endpoint, Failure> {
        var hints = addrinfo()
        hints.ai_family = switch family {
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        case nil: AF_UNSPEC
        }
        hints.ai_socktype = Int32(proto == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            return .failure(.failed("cannot resolve \(host): \(reason)"))
        }
        defer { freeaddrinfo(list) }
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard let address = info.ai_addr else { continue }
            switch Int32(address.pointee.sa_family) {
            case AF_INET where info.ai_addrlen >= MemoryLayout<sockaddr_in>.size:
                let inet = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in.self)
                let ip = IPAddress(ipv4: UInt32(bigEndian: inet.sin_addr.s_addr))
                return .success(ConnectX.Endpoint(address: ip, port: port))
            case AF_INET6 where info.ai_addrlen >= MemoryLayout<sockaddr_in6>.size:
                let inet6 = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: inet6.sin6_addr) { Array($0) }
                guard let ip = IPAddress(networkBytes: bytes) else { continue }
                return .success(ConnectX.Endpoint(address: ip, port: port, scopeID: inet6.sin6_scope_id))
            default:
                continue
            }
        }
        return .failure(.failed("\(host) has no \(family.map { "\($0.name) " } ?? "")address"))
    }
}
