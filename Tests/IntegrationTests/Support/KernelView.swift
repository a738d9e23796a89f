#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// What the kernel shows through `ss`, and what /proc/sys says, inside a test namespace.
enum KernelView {
    /// Every TCP and UDP socket of the namespace as ss 6.1 lists it: four runs
    /// (`ss -{t,u}anHe -{4,6}`) so that each line's family is known.
    ///
    /// ss 6.1 does not ask for TCP bound-but-inactive sockets (the kernel lists them only
    /// when the request's state mask has bit 13, which ss learned later): tests add those
    /// they create themselves, whose ports and cookies they know.
    static func sockets(in ns: NetworkNamespace) throws -> [SocketTableEntry] {
        try sockets { try ns.spawn($0) }
    }

    /// The same, with `spawn` running a program inside the namespace (`ip netns exec` for a
    /// named one).
    static func sockets(spawn: ([String]) throws -> ProcessResult) throws -> [SocketTableEntry] {
        var entries: [SocketTableEntry] = []
        for (flag, proto) in [("-tanHe", SocketTableEntry.Proto.tcp), ("-uanHe", .udp)] {
            for (familyFlag, family) in [("-4", SocketTableEntry.Family.ipv4), ("-6", .ipv6)] {
                let result = try spawn(["ss", flag, familyFlag])
                guard result.status == 0 else { throw SocketTableParseError(description: "ss \(flag) \(familyFlag) exited \(result.status): \(result.stderr)") }
                entries += try SocketTable.parse(result.stdout, proto: proto, family: family)
            }
        }
        return entries
    }

    /// Runs `body` between two ss captures and retries (bounded) until the sockets did not
    /// change across it, so that `body`'s view and ss's describe the same population.
    /// Returns the stable capture and `body`'s result.
    static func stable<T>(in ns: NetworkNamespace, attempts: Int = 5, _ body: () throws -> T) throws -> (sockets: [SocketTableEntry], result: T) {
        var last = ""
        for _ in 0..<attempts {
            let before = try sockets(in: ns)
            let result = try body()
            let after = try sockets(in: ns)
            let b = before.map(\.identity).sorted(), a = after.map(\.identity).sorted()
            if a == b { return (before, result) }
            last = "before \(b.count) sockets, after \(a.count); first difference: \(Set(a).symmetricDifference(Set(b)).sorted().prefix(5))"
            // Nothing announces that the kernel's table has settled (a peer's close, a
            // TIME_WAIT ending): give it a moment before the next bounded attempt.
            usleep(300_000)
        }
        throw SocketTableParseError(description: "the socket population kept changing under the test: \(last)")
    }

    /// The namespace's effective range, from the two sysctls.
    static func range(in ns: NetworkNamespace) throws -> RangeFacts {
        let portRange = try ns.readSysctl("net.ipv4.ip_local_port_range")
        let reserved = try ns.readSysctl("net.ipv4.ip_local_reserved_ports")
        guard let range = RangeFacts(portRange: portRange, reservedPorts: reserved) else {
            throw SocketTableParseError(description: "cannot parse range \(portRange.debugDescription) reserved \(reserved.debugDescription)")
        }
        return range
    }
}

/// TCP sockets bound to an address and port 0 and left there (the kernel's bound-but-inactive
/// state), made by the test itself so their ports, inodes and cookies are known: ss 6.1 can't
/// list them. Returns them as the table entries ss would print if it could.
func makeBoundOnlyTCPSockets(in ns: NetworkNamespace, address: String, family: SocketTableEntry.Family, count: Int,
                             cgroup: String) throws -> (sockets: [TestSocket], entries: [SocketTableEntry]) {
    try ns.run {
        var sockets: [TestSocket] = [], entries: [SocketTableEntry] = []
        for _ in 0..<count {
            let socket = try TestSocket(family == .ipv4 ? .ipv4 : .ipv6, .tcp)
            try socket.bind(.at(address, 0))
            sockets.append(socket)
            entries.append(SocketTableEntry(
                proto: .tcp, family: family, state: "bound_inactive", receiveQueue: 0,
                localAddress: address, localPort: Int(try socket.localEndpoint().port),
                remoteAddress: family == .ipv4 ? "0.0.0.0" : "::", remotePort: nil,
                uid: Int(getuid()), inode: Int(try socket.inode()), cookie: try socket.cookie(), cgroup: cgroup))
        }
        return (sockets, entries)
    }
}

/// Which socket of each duplicate UDP 4-tuple the kernel delivers to, found by experiment:
/// one datagram is sent from each tuple's remote end to its local end, then ss shows which
/// socket's receive queue holds it. nil when none of the tuple's sockets got it.
func observeUDPReceivers(in ns: NetworkNamespace, tuples: [ReferenceModel.TupleKey]) throws -> [ReferenceModel.TupleKey: UInt64?] {
    guard !tuples.isEmpty else { return [:] }
    try ns.run {
        // One sender per distinct remote end, bound to it (SO_REUSEADDR: the tuples' own
        // sockets are connected to that address, not bound to it, so nothing else is there).
        var senders: [String: TestSocket] = [:]
        for tuple in tuples {
            let key = "\(tuple.remote)|\(tuple.remotePort)"
            let sender: TestSocket
            if let existing = senders[key] {
                sender = existing
            } else {
                sender = try TestSocket(tuple.family == "ipv4" ? .ipv4 : .ipv6, .udp)
                try sender.setOption(SOL_SOCKET, SO_REUSEADDR)
                try sender.bind(.at(tuple.remote, tuple.remotePort))
                senders[key] = sender
            }
            try sender.send(Array("who receives?".utf8), to: .at(tuple.local, tuple.localPort))
        }
    }
    // Loopback delivery is synchronous; ss right after sees the queues.
    let udp = try KernelView.sockets(in: ns).filter { $0.proto == .udp && $0.state == "established" }
    var receivers: [ReferenceModel.TupleKey: UInt64?] = [:]
    for tuple in tuples {
        let holders = udp.filter {
            $0.family.rawValue == tuple.family && $0.localAddress == tuple.local && $0.localPort == tuple.localPort
                && $0.remoteAddress == tuple.remote && $0.remotePort == tuple.remotePort && $0.receiveQueue > 0
        }
        receivers[tuple] = holders.count == 1 ? holders[0].cookie : nil
    }
    return receivers
}

/// The cgroup v2 path of this process (`0::/path` in /proc/self/cgroup): what ss prints as
/// `cgroup:` for the sockets a test creates itself.
func ownCgroupPath() throws -> String {
    let text = try readTextFile("/proc/self/cgroup")
    for line in text.split(separator: "\n") where line.hasPrefix("0::") { return String(line.dropFirst(3)) }
    throw SocketTableParseError(description: "no cgroup v2 line in /proc/self/cgroup")
}
