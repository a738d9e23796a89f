#if canImport(Glibc)
import Glibc
#endif
import SocketModel

/// Builds a socket population, recipe by recipe, and keeps every socket open.
final class Population {
    private(set) var descriptors: [Int32] = []
    /// Listening sockets by endpoint, non-blocking, drained after every connect so the
    /// accept queue (somaxconn) never fills and stalls `connect()`.
    private var listeners: [SocketEndpoint: Int32] = [:]
    /// What was made, by kind, for the summary line.
    private(set) var made: [String: Int] = [:]

    func build(_ recipe: Recipe) throws {
        let e = recipe.endpoint
        let family = e.address.family
        let loopback = family == .ipv4 ? IPAddress.ipv4Loopback : IPAddress.ipv6Loopback
        for i in 0..<recipe.count {
            switch recipe.kind {
            case .listen:
                let fd = try Sockets.socket(family, udp: false)
                try Sockets.setOption(fd, SOL_SOCKET, SO_REUSEADDR)
                let at = SocketEndpoint(address: e.address, port: e.port &+ UInt16(truncatingIfNeeded: i))
                try Sockets.bind(fd, at)
                _ = try Sockets.check(Glibc.listen(fd, 4096), "listen(\(at))")
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                listeners[at] = fd
                keep(fd)
            case .tcp, .tcpBind, .tcpBindNoPort, .tcpTimeWait:
                let fd = try Sockets.socket(family, udp: false)
                if recipe.kind == .tcpBindNoPort {
                    try Sockets.setOption(fd, Int32(IPPROTO_IP), 24 /* IP_BIND_ADDRESS_NO_PORT */)
                }
                if recipe.kind == .tcpBind || recipe.kind == .tcpBindNoPort {
                    try Sockets.bind(fd, SocketEndpoint(address: loopback, port: 0))
                }
                try Sockets.connect(fd, e)
                let peer = try drainAccepts(e)
                if recipe.kind == .tcpTimeWait {
                    // Active close from the client: the client's port goes to TIME_WAIT.
                    close(fd)
                    if let peer { descriptors.removeAll { $0 == peer }; close(peer) }
                } else {
                    keep(fd)
                }
            case .tcpBound:
                let fd = try Sockets.socket(family, udp: false)
                try Sockets.bind(fd, SocketEndpoint(address: e.address, port: 0))
                keep(fd)
            case .udp:
                let fd = try Sockets.socket(family, udp: true)
                try Sockets.connect(fd, e)
                keep(fd)
            case .udpUnconnected:
                let fd = try Sockets.socket(family, udp: true)
                try Sockets.bind(fd, SocketEndpoint(address: e.address, port: 0))
                keep(fd)
            case .udpDuplicate:
                // Bind the first socket before it allows reuse, so the kernel gives it a port no
                // other socket holds: two pairs can then never share one 4-tuple.
                let first = try Sockets.socket(family, udp: true)
                try Sockets.bind(first, SocketEndpoint(address: loopback, port: 0))
                try Sockets.setOption(first, SOL_SOCKET, SO_REUSEADDR)
                let port = try Sockets.localPort(first)
                let second = try Sockets.socket(family, udp: true)
                try Sockets.setOption(second, SOL_SOCKET, SO_REUSEADDR)
                try Sockets.bind(second, SocketEndpoint(address: loopback, port: port))
                try Sockets.connect(first, e)
                try Sockets.connect(second, e)
                keep(first)
                keep(second)
            }
        }
        made[recipe.kind.rawValue, default: 0] += recipe.count
    }

    private func keep(_ fd: Int32) { descriptors.append(fd) }

    /// One round of churn toward `endpoint`, a listener made here: a TCP connection, accepted,
    /// both ends closed with a reset (no TIME_WAIT piles up), and a UDP socket connected and
    /// closed. The population is the same before and after.
    func churn(_ endpoint: SocketEndpoint) throws {
        guard let listener = listeners[endpoint] else { throw SyscallError(call: "churn: no listener at \(endpoint)", errnoValue: EINVAL) }
        let client = try Sockets.socket(endpoint.address.family, udp: false)
        defer { Self.closeWithReset(client) }
        try Sockets.connect(client, endpoint)
        let peer = accept(listener, nil, nil)
        if peer >= 0 { Self.closeWithReset(peer) }
        let udp = try Sockets.socket(endpoint.address.family, udp: true)
        defer { close(udp) }
        try Sockets.connect(udp, endpoint)
    }

    private static func closeWithReset(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    /// Accepts everything queued on the listener at `endpoint`; returns the last accepted fd.
    private func drainAccepts(_ endpoint: SocketEndpoint) throws -> Int32? {
        guard let listener = listeners[endpoint] else { return nil }
        var last: Int32?
        // Bounded: the queue holds at most the backlog.
        for _ in 0..<4097 {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                throw SyscallError(call: "accept(\(endpoint))", errnoValue: errno)
            }
            keep(fd)
            last = fd
        }
        return last
    }
}
