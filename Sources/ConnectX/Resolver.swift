#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SocketModel
import SystemPackage

extension ConnectX {
    /// The endpoints `HOST:PORT` names. An address literal (`192.0.2.1:80`, `[2001:db8::1]:53`,
    /// `[fe80::1%eth0]:53`) is parsed without a lookup; a name (`localhost:80`,
    /// `[localhost]:80`) is resolved with `getaddrinfo(3)` (files, then DNS, as configured),
    /// every address in the resolver's order. Blocks while the resolver works.
    public static func resolve(_ text: String) throws(ConnectXError) -> [Endpoint] {
        if let literal = Endpoint(parsing: text) { return [literal] }
        // A name, bracketed or not (a literal was parsed above).
        guard let parts = try? HostAndPort(splitting: text), let portText = parts.port,
              let port = HostAndPort.portNumber(portText), !parts.host.isEmpty,
              !parts.host.contains(where: { ":[]".contains($0) }) else {
            throw ConnectXError(step: .arguments, errno: .invalidArgument, detail: "\(text.debugDescription) is not HOST:PORT")
        }
        let host = String(parts.host)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = CInt(SOCK_DGRAM.rawValue)  // one answer per address
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            let reason = String(cString: gai_strerror(status))
            let errno: Errno = status == EAI_SYSTEM ? Errno(rawValue: Glibc.errno)
                : status == EAI_AGAIN ? .resourceTemporarilyUnavailable : .noSuchFileOrDirectory
            throw ConnectXError(step: .resolve, errno: errno, detail: "\(host): \(reason)")
        }
        defer { freeaddrinfo(list) }
        var endpoints: [Endpoint] = []
        var entry = list
        while let current = entry {
            if let sa = current.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { target in
                    target.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: min(Int(current.pointee.ai_addrlen), target.count)))
                }
                if var endpoint = SocketAddress(storage: storage, length: current.pointee.ai_addrlen)?.endpoint {
                    endpoint.port = port
                    if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
                }
            }
            entry = current.pointee.ai_next
        }
        guard !endpoints.isEmpty else {
            throw ConnectXError(step: .resolve, errno: .noSuchFileOrDirectory, detail: "\(host): no IPv4 or IPv6 address")
        }
        return endpoints
    }
}
