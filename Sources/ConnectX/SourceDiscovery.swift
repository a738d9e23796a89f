import SocketModel
import SystemPackage

/// Finds the source address the kernel would route from toward a destination.
enum SourceDiscovery {
    /// Connects a throwaway UDP socket and reads its address with `getsockname(2)` (a UDP
    /// `connect()` only routes; nothing is sent). Keeps the IPv6 scope id of a link-local
    /// source. The returned port is 0.
    ///
    /// The throwaway socket must not disturb the sockets it shares the host with, and UDP
    /// `connect()` always binds a port first. So it sets `SO_REUSEADDR` (it then needs no port
    /// of its own, and never blocks another socket's `bind()`), and connects to port 0 of the
    /// destination (no socket is connected there, so its brief 4-tuple cannot equal a real
    /// one; routing does not depend on the port).
    static func source(toward destination: ConnectX.Endpoint) throws(ConnectXError) -> ConnectX.Endpoint {
        let socket = OwnedSocket(try at(.sourceDiscovery, "socket") { () throws(Errno) in
            try SocketDescriptor.open(destination.address.family, .datagram)
        })
        let fd = socket.descriptor
        var probe = destination
        probe.port = 0
        try at(.sourceDiscovery, "setsockopt SO_REUSEADDR") { () throws(Errno) in try fd.setOption(.reuseAddress, 1) }
        try at(.sourceDiscovery, "connect \(probe)") { () throws(Errno) in try fd.connect(SocketAddress(probe)) }
        var source = try at(.sourceDiscovery, "getsockname") { () throws(Errno) in try fd.localAddress() }
        source.port = 0
        if !source.address.isIPv6LinkLocal { source.scopeID = 0 }
        return source
    }
}
