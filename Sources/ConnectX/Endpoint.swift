#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SocketModel

extension ConnectX {
    /// An IP address and port, with the scope (interface index) an IPv6 link-local address
    /// needs to mean anything.
    ///
    /// `SocketModel.SocketEndpoint` has no scope; this type adds it, because `fe80::1` on
    /// `eth0` and on `eth1` are different peers and `connect()` refuses one without a scope.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var address: IPAddress
        /// The port; 0 as a source means "choose one".
        public var port: UInt16
        /// The IPv6 scope id (`sin6_scope_id`, an interface index); 0 for none and for IPv4.
        public var scopeID: UInt32

        public init(address: IPAddress, port: UInt16, scopeID: UInt32 = 0) {
            self.address = address
            self.port = port
            self.scopeID = scopeID
        }

        public init(_ endpoint: SocketEndpoint, scopeID: UInt32 = 0) {
            self.init(address: endpoint.address, port: endpoint.port, scopeID: scopeID)
        }

        /// The endpoint without its scope.
        public var socketEndpoint: SocketEndpoint { SocketEndpoint(address: address, port: port) }

        /// `1.2.3.4:80`, `[::1]:80`, `[fe80::1%2]:80` (the scope as a number).
        public var description: String {
            switch address.family {
            case .ipv4: return "\(address):\(port)"
            case .ipv6: return scopeID == 0 ? "[\(address)]:\(port)" : "[\(address)%\(scopeID)]:\(port)"
            }
        }

        /// Parses `1.2.3.4:80`, `[::1]:80` and `[fe80::1%eth0]:80` (the zone an interface name
        /// or index). With `portOptional`, also a bare address (`1.2.3.4`, `::1`,
        /// `fe80::1%eth0`, `[::1]`), with port 0. Nil when the text is not one of these, or
        /// names an interface that does not exist (looked up in the calling thread's
        /// network namespace).
        public init?(parsing text: String, portOptional: Bool = false) {
            guard let parts = try? HostAndPort(splitting: text), let address = IPAddress(String(parts.address)) else { return nil }
            var scope: UInt32 = 0
            if let zone = parts.zone {
                guard address.family == .ipv6, let index = Self.interfaceIndex(zone: String(zone)) else { return nil }
                scope = index
            }
            if parts.bracketed && address.family != .ipv6 { return nil }
            let port: UInt16
            if let portText = parts.port {
                guard let value = HostAndPort.portNumber(portText) else { return nil }
                port = value
            } else {
                guard portOptional else { return nil }
                port = 0
            }
            self.init(address: address, port: port, scopeID: scope)
        }

        /// An interface index from a zone: a number, or a name resolved with `if_nametoindex(3)`.
        static func interfaceIndex(zone: String) -> UInt32? {
            if zone.isEmpty { return nil }
            if let number = UInt32(zone) { return number == 0 ? nil : number }
            let index = if_nametoindex(zone)
            return index == 0 ? nil : index
        }
    }
}
