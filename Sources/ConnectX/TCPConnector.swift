import SocketModel
import SystemPackage

/// TCP: three techniques, by what the caller gives.
///
/// | caller gives           | technique                                                   |
/// |------------------------|-------------------------------------------------------------|
/// | destination only       | plain `connect()`: the kernel shares ports across destinations |
/// | source address         | `IP_BIND_ADDRESS_NO_PORT`, `bind(ip, 0)`, `connect()`        |
/// | source port            | `SO_REUSEADDR`, `bind(ip, port)`, `connect()`; a taken 4-tuple is `EADDRNOTAVAIL` |
///
/// A plain `bind(ip, 0)` would lock the port for every destination; with
/// `IP_BIND_ADDRESS_NO_PORT` the port is picked at `connect()` time, when the kernel knows the
/// destination and only needs the 4-tuple to be free.
enum TCPConnector {
    static func connect(_ request: ConnectRequest) throws(ConnectXError) -> ConnectedSocket {
        let deadline = request.deadline()
        let socket = OwnedSocket(try at(.socket) { () throws(Errno) in
            try SocketDescriptor.open(request.family, .stream, nonBlocking: true)
        })
        let fd = socket.descriptor
        if let range = request.options.portRange {
            try at(.setOption, SocketOption.localPortRange.description) { () throws(Errno) in
                try fd.setOption(.localPortRange, uint32: UInt32(range.upperBound) << 16 | UInt32(range.lowerBound))
            }
        }
        let technique = try bindSource(fd, request)
        try at(.connect) { () throws(Errno) in
            do throws(Errno) {
                try fd.connect(SocketAddress(request.destination))
            } catch {
                guard error == .nowInProgress else { throw error }
                try fd.waitUntilConnected(deadline: deadline)
            }
            try fd.setNonBlocking(false)
        }
        let local = try at(.localAddress) { () throws(Errno) in try fd.localAddress() }
        return ConnectedSocket(socket, proto: .tcp, local: local, remote: request.destination, technique: technique)
    }

    /// Binds as the technique requires; returns the technique.
    private static func bindSource(_ fd: SocketDescriptor, _ request: ConnectRequest) throws(ConnectXError) -> ConnectX.Technique {
        let source = request.source
        switch request.options.method {
        case .plain:
            guard request.sourceGiven else { return .connect }
            try at(.bind, source.description) { () throws(Errno) in try fd.bind(SocketAddress(source)) }
            return .bindThenConnect
        case .connectx:
            if source.port != 0 {
                try at(.setOption, SocketOption.reuseAddress.description) { () throws(Errno) in
                    try fd.setOption(.reuseAddress, 1)
                }
                try at(.bind, source.description) { () throws(Errno) in try fd.bind(SocketAddress(source)) }
                return .reuseAddressBind
            }
            guard !source.address.isUnspecified else { return .connect }
            try at(.setOption, SocketOption.bindAddressNoPort.description) { () throws(Errno) in
                try fd.setOption(.bindAddressNoPort, 1)
            }
            try at(.bind, source.description) { () throws(Errno) in try fd.bind(SocketAddress(source)) }
            return .bindAddressNoPort
        }
    }
}
