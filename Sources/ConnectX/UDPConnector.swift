import SockDiag
import SocketModel
import SystemPackage

/// UDP connections: "SO_REUSEADDR as a lock".
///
/// The kernel gives a connected UDP socket a port no other socket holds, so a host runs out
/// after one range's worth of them, whatever their destinations. Sockets that set
/// `SO_REUSEADDR` may share a port, but then nothing stops two of them from connecting to the
/// same destination: the newer silently takes the older's datagrams. ConnectX shares ports
/// and still never duplicates a 4-tuple:
///
/// 1. no source address: ask routing for it (`SourceDiscovery`), keeping an IPv6 scope;
/// 2. no source port: choose one in userspace (`PortCandidates`, then one dump), skipping
///    ports whose 4-tuple toward this destination is taken;
/// 3. claim it: read `SO_COOKIE`, set `SO_REUSEADDR`, `bind()`, clear `SO_REUSEADDR`. Now no
///    other socket can bind this (address, port), because binding beside a socket needs both
///    to have `SO_REUSEADDR`: the port is locked. Look the 4-tuple up: if the socket that
///    would receive from the destination is not ours, someone has the tuple: close ours and
///    try another port (chosen ports) or fail with `EADDRINUSE` (a port the caller named).
///    If it is ours, `connect()`, and set `SO_REUSEADDR` again to unlock the port for other
///    destinations.
///
/// Before the search, a port nobody holds costs no lookup at all (`claimUnheldPort`): up to
/// `unheldBudget` random ports of the range are bound without `SO_REUSEADDR`, to the source
/// if given, else to the wildcard. Such a `bind()` succeeds only when no socket holds the
/// port on an overlapping address, so the 4-tuple is ours alone and the port is locked from
/// the start; `connect()` (routing picks the source), then `SO_REUSEADDR` to share it. On an
/// empty range this is the whole call. When every try finds the port held (`EADDRINUSE`),
/// the search above takes over. (Letting `connect()` bind a port instead would cost a kernel
/// walk of its hash table when most ports are held: milliseconds.)
///
/// A socket that lost is closed, not dissolved with `connect(AF_UNSPEC)`: that call does not
/// unbind a port bound explicitly, and closing releases the lock at once.
enum UDPConnector {
    /// Distinct ports looked up before falling back to one dump of the source's sockets.
    static let probeBudget = 64
    /// Claims (bind + check) of one call, in all; past it the call fails with `EAGAIN`.
    static let claimBudget = 128
    /// Random ports tried with a plain `bind()` (no lookup) before the search. A failed
    /// `bind()` costs well under 1 µs against ~3.5 µs for a lookup: 16 of them find an unheld
    /// port with probability 81% when 90% of the range is held, and add ~10 µs to a call that
    /// must share (every port held).
    static let unheldBudget = 16

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

    /// The `connectx` method (see the type's documentation).
    static func connect(_ request: ConnectRequest) throws(ConnectXError) -> ConnectedSocket {
        let rangeReader = try request.options.sockDiag.map { (client) throws(ConnectXError) in try KeptOpenRangeReader.reader(for: client) }
        var range: EphemeralRange?
        if request.source.port == 0 {
            let namespaceRange: EphemeralRange
            if let rangeReader {
                namespaceRange = try rangeReader.current()
            } else {
                do { namespaceRange = try EphemeralRangeReader.current() } catch { throw ConnectXError(range: error) }
            }
            let effective = PortChooser.effectiveRange(namespace: namespaceRange, perSocket: request.options.portRange)
            range = effective
            var generator = SystemRandomNumberGenerator()
            var candidates = PortCandidates(range: effective, budget: unheldBudget, using: &generator)
            if let socket = try claimUnheldPort(request.source, request.destination, next: { candidates.next(using: &generator) }) {
                return socket
            }
        } else {
            var named: UInt16? = request.source.port
            if let socket = try claimUnheldPort(request.source, request.destination, next: { defer { named = nil }; return named }) {
                return socket
            }
        }

        var source = request.source
        if source.address.isUnspecified {
            let discovered = try SourceDiscovery.source(toward: request.destination)
            source.address = discovered.address
            source.scopeID = discovered.scopeID
        }
        let client: SockDiagClient
        if let given = request.options.sockDiag {
            client = given
        } else {
            do { client = try SockDiagClient() } catch {
                throw ConnectXError(sockDiag: error, step: .portSearch, request: "socket(AF_NETLINK, NETLINK_SOCK_DIAG)")
            }
        }
        var occupancy = PortOccupancy(client: client, source: source, destination: request.destination)
        guard let range else { return try claimNamedPort(source, request.destination, &occupancy) }
        return try claimChosenPort(source, request.destination, range, &occupancy)
    }

    /// Step 0: `bind()` without `SO_REUSEADDR`, to `source` with each port `next` gives until one
    /// succeeds. It succeeds only if no socket holds the port on an overlapping address (the
    /// wildcard, when no source is given, overlaps every address), so no other socket can
    /// receive the 4-tuple, and none can bind beside ours until `SO_REUSEADDR` is set after
    /// `connect()`. A failed `bind()` leaves the socket unbound, so one socket serves every
    /// try. Nil when every port is held (`EADDRINUSE`): they may still be shared, which the
    /// search decides.
    private static func claimUnheldPort(
        _ source: ConnectX.Endpoint, _ destination: ConnectX.Endpoint, next: () -> UInt16?
    ) throws(ConnectXError) -> ConnectedSocket? {
        guard var port = next() else { return nil }
        let socket = OwnedSocket(try at(.socket) { () throws(Errno) in
            try SocketDescriptor.open(source.address.family, .datagram)
        })
        let fd = socket.descriptor
        var local = source
        while true {
            local.port = port
            do throws(Errno) {
                try fd.bind(SocketAddress(local))
            } catch {
                guard error == .addressInUse else { throw ConnectXError(step: .bind, errno: error, detail: local.description) }
                guard let following = next() else { return nil }
                port = following
                continue
            }
            try at(.connect, destination.description) { () throws(Errno) in try fd.connect(SocketAddress(destination)) }
            let bound = try at(.localAddress) { () throws(Errno) in try fd.localAddress() }
            try at(.setOption, SocketOption.reuseAddress.description) { () throws(Errno) in try fd.setOption(.reuseAddress, 1) }
            return ConnectedSocket(socket, proto: .udp, local: bound, remote: destination, technique: .reuseAddressLock,
                                   searchCost: PortSearchCost(lookups: 0, dumps: 0, claims: 1))
        }
    }

    /// A port the caller named: its 4-tuple must be free, else `EADDRINUSE`.
    private static func claimNamedPort(
        _ source: ConnectX.Endpoint, _ destination: ConnectX.Endpoint, _ occupancy: inout PortOccupancy
    ) throws(ConnectXError) -> ConnectedSocket {
        if let holder = try occupancy.receiver(of: source.port, step: .portSearch) {
            throw ConnectXError(step: .portSearch, errno: .addressInUse, detail: "\(source) toward \(destination) is held by \(describe(holder))")
        }
        switch try claim(source, destination, &occupancy) {
        case .connected(let socket):
            return socket
        case .bindRefused:
            throw ConnectXError(step: .bind, errno: .addressInUse, detail: "\(source) is bound by a socket without SO_REUSEADDR")
        case .lost(let holder):
            throw ConnectXError(step: .tupleCheck, errno: .addressInUse, detail: "\(source) toward \(destination) is held by \(describe(holder))")
        }
    }

    /// A port ConnectX chooses: sampled lookups first, then one dump; `EAGAIN` when none is free.
    private static func claimChosenPort(
        _ source: ConnectX.Endpoint, _ destination: ConnectX.Endpoint, _ range: EphemeralRange,
        _ occupancy: inout PortOccupancy
    ) throws(ConnectXError) -> ConnectedSocket {
        var generator = SystemRandomNumberGenerator()
        var candidates = PortCandidates(range: range, budget: probeBudget, using: &generator)
        var tried = PortSet()
        var claims = 0
        func attempt(_ port: UInt16) throws(ConnectXError) -> ConnectedSocket? {
            tried.insert(port)
            if try occupancy.receiver(of: port, step: .portSearch) != nil { return nil }
            claims += 1
            var local = source
            local.port = port
            if case .connected(let socket) = try claim(local, destination, &occupancy) { return socket }
            return nil
        }
        while claims < claimBudget, let port = candidates.next(using: &generator) {
            if let socket = try attempt(port) { return socket }
        }
        if !candidates.isExhaustive && claims < claimBudget {
            // The sample found nothing: look at every socket on the source once, and try the
            // ports that dump leaves, those nobody uses before those shared with others. Each
            // is still looked up (the lookup, not the dump, decides), at most 2 x 64 per pass.
            let census = try occupancy.census(of: range)
            let start = PortChooser.randomPort(in: range, using: &generator)
            for preferUnused in [true, false] {
                var next: UInt16? = start
                var visited = 0
                while claims < claimBudget, visited < 2 * probeBudget, let from = next,
                      let port = PortChooser.firstFree(in: range, from: from, isTaken: { port in
                          tried.contains(port) || census.taken.contains(port) || (preferUnused && census.shared.contains(port))
                      }) {
                    visited += 1
                    if let socket = try attempt(port) { return socket }
                    next = port == range.high ? range.low : port + 1
                }
            }
        }
        throw ConnectXError(
            step: .portSearch, errno: .resourceTemporarilyUnavailable,
            detail: "every port of \(range.low)-\(range.high) (\(range.limit) usable) is taken toward \(destination) from \(source.address)"
                + (claims > 0 ? "; \(claims) claims failed (bind refused, or the 4-tuple taken meanwhile)" : ""))
    }

    enum ClaimOutcome {
        case connected(ConnectedSocket)
        /// `bind()` failed with `EADDRINUSE`: a socket without `SO_REUSEADDR` holds the port,
        /// or another claim holds the lock.
        case bindRefused
        /// The lookup under the lock found another socket receiving this 4-tuple.
        case lost(SocketRecord)
    }

    /// Step 3: bind under the `SO_REUSEADDR` lock, check the 4-tuple, connect, unlock.
    static func claim(
        _ local: ConnectX.Endpoint, _ destination: ConnectX.Endpoint, _ occupancy: inout PortOccupancy
    ) throws(ConnectXError) -> ClaimOutcome {
        let socket = OwnedSocket(try at(.socket) { () throws(Errno) in
            try SocketDescriptor.open(local.address.family, .datagram)
        })
        let fd = socket.descriptor
        let cookie = try at(.getOption, SocketOption.cookie.description) { () throws(Errno) in
            try fd.option(.cookie, as: UInt64.self)
        }
        try at(.setOption, SocketOption.reuseAddress.description) { () throws(Errno) in try fd.setOption(.reuseAddress, 1) }
        do throws(Errno) {
            try fd.bind(SocketAddress(local))
        } catch {
            if error == .addressInUse { return .bindRefused }
            throw ConnectXError(step: .bind, errno: error, detail: local.description)
        }
        occupancy.cost.claims += 1
        // The lock: from here no other socket can bind (address, port) until we set it again.
        try at(.setOption, SocketOption.reuseAddress.description) { () throws(Errno) in try fd.setOption(.reuseAddress, 0) }
        guard let receiver = try occupancy.receiver(of: local.port, step: .tupleCheck) else {
            throw ConnectXError(step: .tupleCheck, errno: .noSuchFileOrDirectory,
                                detail: "SOCK_DIAG does not report the socket just bound to \(local)")
        }
        guard receiver.cookie == cookie else { return .lost(receiver) }
        try at(.connect) { () throws(Errno) in try fd.connect(SocketAddress(destination)) }
        try at(.setOption, SocketOption.reuseAddress.description) { () throws(Errno) in try fd.setOption(.reuseAddress, 1) }
        return .connected(ConnectedSocket(socket, proto: .udp, local: local, remote: destination, technique: .reuseAddressLock, searchCost: occupancy.cost))
    }

    private static func describe(_ record: SocketRecord) -> String {
        record.state == .established
            ? "a socket connected \(record.local) -> \(record.remote)"
            : "an unconnected socket bound to \(record.local)"
    }
}
