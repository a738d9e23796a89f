import SocketModel
import SystemPackage

/// UDP connections.
enum UDPConnector {
    /// The `plain` method: `bind(source)` when one is given, then `connect()`. Without a
    /// source the kernel binds a port no other socket holds, so a host runs out after one
    /// range's worth of connected UDP sockets (`EAGAIN`), whatever their destinations.
    static func connectPlain(_ request: ConnectRequest) throws(ConnectXError) -> ConnectedSocket {
        let socket = OwnedSocket(try at(.socket) { () throws(Errno) in
            try SocketDescriptor.open(request.family, .datagram)
        })
        let fd = socket.descriptor
        if let range = request.options.portRange {
            try at(.setOption, SocketOption.localPortRange.description) { () throws(Errno) in
                try fd.setOption(.localPortRange, uint32: UInt32(range.upperBound) << 16 | UInt32(range.lowerBound))
            }
        }
        if request.sourceGiven {
            try at(.bind, request.source.description) { () throws(Errno) in try fd.bind(SocketAddress(request.source)) }
        }
        try at(.connect) { () throws(Errno) in try fd.connect(SocketAddress(request.destination)) }
        let local = try at(.localAddress) { () throws(Errno) in try fd.localAddress() }
        return ConnectedSocket(socket, proto: .udp, local: local, remote: request.destination,
                               technique: request.sourceGiven ? .bindThenConnect : .connect)
    }

    static func connect(_ request: ConnectRequest) throws(ConnectXError) -> ConnectedSocket {
        throw ConnectXError(step: .portSearch, errno: .notSupported, detail: "waiting for SockDiag")
    }
}
