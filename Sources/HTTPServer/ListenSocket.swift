#if canImport(Glibc)
import Glibc
#endif

/// A bound, listening TCP socket, made here rather than by libmicrohttpd so that a bad
/// address or a port in use surfaces as a typed error naming the failing call.
/// (None of these calls can fail with EINTR: listen sockets are set up before any signal
/// handling matters, and bind/listen/socket do not block.)
struct ListenSocket {
    let fd: Int32
    /// The address actually bound (the kernel's port when 0 was asked for).
    let boundAddress: ListenAddress

    /// Resolves `address` (getaddrinfo(3), first result, like Go's net.Listen), then
    /// socket(2), setsockopt(2) SO_REUSEADDR (and IPV6_V6ONLY), bind(2), listen(2).
    /// `:port` becomes one dual-stack socket on `::`, or `0.0.0.0` when IPv6 is unavailable.
    /// The caller owns the descriptor: it hands it to a daemon or calls `close()`.
    static func open(_ address: ListenAddress, backlog: Int32 = SOMAXCONN) throws(HTTPServerError) -> ListenSocket {
        let text = address.description
        if let host = address.host {
            var storage = sockaddr_storage()
            let length = try resolve(host: host, port: address.port, into: &storage, text: text)
            return try ListenSocket(text: text, storage: storage, length: length, dualStack: false, backlog: backlog)
        } else {
            var any6 = sockaddr_in6()
            any6.sin6_family = sa_family_t(AF_INET6)
            any6.sin6_port = address.port.bigEndian
            any6.sin6_addr = in6addr_any
            var storage = sockaddr_storage()
            withUnsafeBytes(of: any6) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            do {
                return try ListenSocket(text: text, storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size), dualStack: true, backlog: backlog)
            } catch .listenFailed(_, "socket", EAFNOSUPPORT) {
                var any4 = sockaddr_in()
                any4.sin_family = sa_family_t(AF_INET)
                any4.sin_port = address.port.bigEndian
                storage = sockaddr_storage()
                withUnsafeBytes(of: any4) { source in
                    withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
                }
                return try ListenSocket(text: text, storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size), dualStack: false, backlog: backlog)
            }
        }
    }

    private init(text: String, storage: sockaddr_storage, length: socklen_t, dualStack: Bool, backlog: Int32) throws(HTTPServerError) {
        let family = Int32(storage.ss_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .listenFailed(address: text, operation: "socket", errno: errno) }
        var success = false
        defer { if !success { _ = Glibc.close(fd) } }

        var on: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .listenFailed(address: text, operation: "setsockopt(SO_REUSEADDR)", errno: errno)
        }
        if family == AF_INET6 {
            var v6Only: Int32 = dualStack ? 0 : 1
            guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6Only, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw .listenFailed(address: text, operation: "setsockopt(IPV6_V6ONLY)", errno: errno)
            }
        }
        var address = storage
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw .listenFailed(address: text, operation: "bind", errno: errno) }
        guard listen(fd, backlog) == 0 else { throw .listenFailed(address: text, operation: "listen", errno: errno) }

        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        guard named == 0 else { throw .listenFailed(address: text, operation: "getsockname", errno: errno) }
        self.fd = fd
        self.boundAddress = Self.listenAddress(of: actual, wildcard: dualStack)
        success = true
    }

    /// Closes the socket (not handed to a daemon, or given back by one).
    func close() {
        _ = Glibc.close(fd)
    }

    /// Takes over a listening socket someone else opened (systemd, for socket activation):
    /// checks it is a listening TCP socket, makes it non-blocking and close-on-exec (systemd
    /// passes neither), and names the address it is bound to.
    static func adopt(_ fd: Int32) throws(HTTPServerError) -> ListenSocket {
        func option(_ level: Int32, _ name: Int32, _ call: String) throws(HTTPServerError) -> Int32 {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, level, name, &value, &length) == 0 else {
                throw .unusableInheritedSocket(fd: fd, reason: "getsockopt(\(call)): \(String(cString: strerror(errno)))")
            }
            return value
        }
        guard try option(SOL_SOCKET, SO_TYPE, "SO_TYPE") == Int32(SOCK_STREAM.rawValue) else {
            throw .unusableInheritedSocket(fd: fd, reason: "not a stream socket (use ListenStream= in the socket unit)")
        }
        guard try option(SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN") == 1 else {
            throw .unusableInheritedSocket(fd: fd, reason: "not a listening socket")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw .unusableInheritedSocket(fd: fd, reason: "getsockname: \(String(cString: strerror(errno)))") }
        let family = Int32(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else {
            throw .unusableInheritedSocket(fd: fd, reason: "not an IPv4 or IPv6 socket (address family \(family))")
        }
        // `[::]` accepting IPv4 too is what `:port` means here; shown the same way.
        var dualStack = false
        if family == AF_INET6 {
            let address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            let isAny = withUnsafeBytes(of: address.sin6_addr) { $0.allSatisfy { $0 == 0 } }
            if isAny { dualStack = try option(Int32(IPPROTO_IPV6), IPV6_V6ONLY, "IPV6_V6ONLY") == 0 }
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0, fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else {
            throw .unusableInheritedSocket(fd: fd, reason: "fcntl: \(String(cString: strerror(errno)))")
        }
        return ListenSocket(fd: fd, boundAddress: listenAddress(of: storage, wildcard: dualStack))
    }

    private init(fd: Int32, boundAddress: ListenAddress) {
        self.fd = fd
        self.boundAddress = boundAddress
    }

    // MARK: Addresses

    private static func resolve(host: String, port: UInt16, into storage: inout sockaddr_storage, text: String) throws(HTTPServerError) -> socklen_t {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw .invalidAddress(text, reason: "cannot resolve \(host.debugDescription): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        // Prefer IPv4 among several results, as Go does for "localhost".
        var chosen = first
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET { chosen = entry; break }
            cursor = entry.pointee.ai_next
        }
        let length = chosen.pointee.ai_addrlen
        guard let address = chosen.pointee.ai_addr, Int(length) <= MemoryLayout<sockaddr_storage>.size else {
            throw .invalidAddress(text, reason: "resolver returned no usable address")
        }
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length))) }
        return length
    }

    private static func listenAddress(of storage: sockaddr_storage, wildcard: Bool) -> ListenAddress {
        withUnsafeBytes(of: storage) { raw in
            if Int32(storage.ss_family) == AF_INET6 {
                let address = raw.load(as: sockaddr_in6.self)
                let port = UInt16(bigEndian: address.sin6_port)
                if wildcard { return ListenAddress(host: nil, port: port) }
                var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                var addr = address.sin6_addr
                inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                return ListenAddress(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: port)
            } else {
                let address = raw.load(as: sockaddr_in.self)
                let port = UInt16(bigEndian: address.sin_port)
                if wildcard { return ListenAddress(host: nil, port: port) }
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                var addr = address.sin_addr
                inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                return ListenAddress(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: port)
            }
        }
    }
}
