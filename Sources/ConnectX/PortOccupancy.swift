import SockDiag
import SocketModel
import SystemPackage

/// What SOCK_DIAG says about the local ports of one source toward one destination (UDP).
///
/// "Taken" means some socket would receive the destination's datagrams to (source, port):
/// one connected to this destination, or an unconnected one bound to the source address or
/// to the wildcard. Sockets connected to other destinations do not take the port: sharing
/// it with them is the point. A netlink failure is an error, never "free".
struct PortOccupancy {
    let client: SockDiagClient
    /// The requests made so far.
    var cost = PortSearchCost()
    /// The source address (port ignored) and its scope.
    let source: ConnectX.Endpoint
    let destination: ConnectX.Endpoint

    init(client: SockDiagClient, source: ConnectX.Endpoint, destination: ConnectX.Endpoint) {
        self.client = client
        self.source = source
        self.destination = destination
    }

    /// One exact lookup (`SOCK_DIAG_BY_FAMILY`, no dump): the socket the kernel would deliver
    /// a datagram from the destination to (source, `port`) to, if any.
    mutating func receiver(of port: UInt16, step: ConnectXError.Step) throws(ConnectXError) -> SocketRecord? {
        cost.lookups += 1
        do {
            return try client.lookup(
                proto: .udp, local: SocketEndpoint(address: source.address, port: port),
                remote: destination.socketEndpoint, interfaceIndex: source.scopeID)
        } catch {
            throw ConnectXError(sockDiag: error, step: step, request: "lookup \(source.address):\(port) <- \(destination)")
        }
    }

    /// Ports of a dump, sorted by what they mean for a new socket toward the destination.
    struct Census {
        /// Ports some socket would receive the destination's datagrams on: not usable.
        var taken = PortSet()
        /// Ports used only by sockets connected elsewhere: usable if those set `SO_REUSEADDR`.
        var shared = PortSet()
    }

    /// One filtered dump of the UDP sockets bound to the source address or the wildcard
    /// (the kernel runs the filter), sorted into taken and shared ports of `range`.
    mutating func census(of range: EphemeralRange) throws(ConnectXError) -> Census {
        cost.dumps += 1
        let wildcard: IPAddress = source.address.family == .ipv4 ? .ipv4Any : .ipv6Any
        let query = DumpQuery(
            proto: .udp, family: source.address.family,
            filter: .any([.localAddress(source.address), .localAddress(wildcard)]))
        let destination = self.destination.socketEndpoint
        var census = Census()
        do {
            try client.dump(query, restart: { census = Census() }) { record in
                let port = record.local.port
                guard range.isEphemeral(port) else { return }
                if record.state != .established || record.remote == destination {
                    census.taken.insert(port)
                } else {
                    census.shared.insert(port)
                }
            }
        } catch {
            throw ConnectXError(sockDiag: error, step: .portSearch, request: "dump of udp sockets on \(source.address)")
        }
        return census
    }
}

extension ConnectXError {
    /// A SOCK_DIAG failure as a ConnectX error: its errno where it has one.
    public init(sockDiag error: SockDiagError, step: Step = .portSearch,
                request: String = "socket(AF_NETLINK, NETLINK_SOCK_DIAG)") {
        switch error {
        case let .system(_, errno), let .kernel(errno, _):
            self.init(step: step, errno: errno, detail: "\(request): \(error)")
        case .dumpInterrupted:
            self.init(step: step, errno: .interrupted, detail: "\(request): \(error)")
        case .malformed:
            self.init(step: step, errno: .protocolError, detail: "\(request): \(error)")
        }
    }

    /// The namespace's range could not be read.
    init(range error: EphemeralRangeError) {
        switch error {
        case .unreadable: self.init(step: .portRange, errno: .ioError, detail: error.description)
        case .malformedRange, .malformedReserved: self.init(step: .portRange, errno: .invalidArgument, detail: error.description)
        }
    }
}
