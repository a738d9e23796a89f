/// One socket as `ss -tanHe` / `ss -uanHe` prints it: the kernel's view, read independently
/// of portpressure's SOCK_DIAG code.
///
/// ss 6.1 prints `STATE RECV-Q SEND-Q LOCAL PEER [extras]`, where an endpoint is
/// `127.0.0.1:8080`, `[::1]:8080`, `[::ffff:127.0.0.1]:8080`, `0.0.0.0:*`, `*:9001` (an IPv6
/// wildcard) or `127.0.0.1%lo:53` (bound to a device), and `-e` adds `uid:N` (only when N is
/// not 0), `ino:N`, `sk:HEX` (the socket cookie), `cgroup:PATH`, `v6only:B` and `<->`.
/// Addresses come from inet_ntop, so they are already canonical text (RFC 5952 for IPv6).
struct SocketTableEntry: Hashable, Sendable, CustomStringConvertible {
    enum Proto: String, Sendable { case tcp, udp }
    enum Family: String, Sendable { case ipv4, ipv6 }

    var proto: Proto
    var family: Family
    /// Normalized to the report's names: `established`, `time_wait`, `listen`, …; UDP's
    /// `UNCONN` is `unconnected`, TCP's `UNCONN` (TCP_CLOSE) is `close`.
    var state: String
    var receiveQueue: Int
    var localAddress: String
    var localPort: Int
    /// The wildcard (`0.0.0.0` / `::`) when ss prints `*`.
    var remoteAddress: String
    /// nil for `*` (no peer).
    var remotePort: Int?
    var uid: Int
    var inode: Int
    var cookie: UInt64?
    /// nil when ss printed no `cgroup:` (TIME_WAIT and request sockets have none).
    var cgroup: String?

    var description: String {
        "\(proto) \(family) \(state) \(localAddress):\(localPort) -> \(remoteAddress):\(remotePort.map(String.init) ?? "*") ino:\(inode)"
    }

    /// The socket's identity for comparing two runs of ss (queues left out: they move).
    var identity: String { "\(description) sk:\(cookie.map { String($0, radix: 16) } ?? "-")" }

    /// Has a peer, as the report defines it: a connected UDP socket, a TCP socket that is not
    /// listening, closed or bound-only.
    var hasPeer: Bool {
        switch proto {
        case .udp: state == "established"
        case .tcp: !["listen", "close", "bound_inactive"].contains(state)
        }
    }
}

struct SocketTableParseError: Error, CustomStringConvertible {
    let description: String
}

enum SocketTable {
    /// ss's state column → the report's state names.
    static let stateNames: [String: String] = [
        "ESTAB": "established", "SYN-SENT": "syn_sent", "SYN-RECV": "syn_recv",
        "FIN-WAIT-1": "fin_wait1", "FIN-WAIT-2": "fin_wait2", "TIME-WAIT": "time_wait",
        "CLOSE-WAIT": "close_wait", "LAST-ACK": "last_ack", "LISTEN": "listen", "CLOSING": "closing",
    ]

    /// Parses the output of `ss -{t,u}anHe -{4,6}` (one protocol and family per run, since a
    /// wildcard `*` does not say its family). Throws on any line it does not understand.
    static func parse(_ output: String, proto: SocketTableEntry.Proto, family: SocketTableEntry.Family) throws -> [SocketTableEntry] {
        var entries: [SocketTableEntry] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { continue }
            guard fields.count >= 5 else { throw SocketTableParseError(description: "short ss line: \(line)") }
            let rawState = String(fields[0])
            let state: String
            if rawState == "UNCONN" {
                state = proto == .udp ? "unconnected" : "close"
            } else if let name = stateNames[rawState] {
                state = name
            } else {
                throw SocketTableParseError(description: "unknown ss state \(rawState.debugDescription) in: \(line)")
            }
            guard let receiveQueue = Int(fields[1]) else { throw SocketTableParseError(description: "bad Recv-Q in: \(line)") }
            let local = try endpoint(fields[3], family: family, line: line)
            let remote = try endpoint(fields[4], family: family, line: line)
            guard let localPort = local.port else { throw SocketTableParseError(description: "local port * in: \(line)") }
            var entry = SocketTableEntry(
                proto: proto, family: family, state: state, receiveQueue: receiveQueue,
                localAddress: local.address, localPort: localPort, remoteAddress: remote.address, remotePort: remote.port,
                uid: 0, inode: 0, cookie: nil, cgroup: nil)
            for extra in fields.dropFirst(5) {
                if extra.hasPrefix("uid:") {
                    guard let v = Int(extra.dropFirst(4)) else { throw SocketTableParseError(description: "bad \(extra) in: \(line)") }
                    entry.uid = v
                } else if extra.hasPrefix("ino:") {
                    guard let v = Int(extra.dropFirst(4)) else { throw SocketTableParseError(description: "bad \(extra) in: \(line)") }
                    entry.inode = v
                } else if extra.hasPrefix("sk:") {
                    guard let v = UInt64(extra.dropFirst(3), radix: 16) else { throw SocketTableParseError(description: "bad \(extra) in: \(line)") }
                    entry.cookie = v
                } else if extra.hasPrefix("cgroup:") {
                    entry.cgroup = String(extra.dropFirst(7))
                }
            }
            entries.append(entry)
        }
        return entries
    }

    /// `ADDRESS:PORT` with `[...]` around IPv6, `*` for a wildcard address or port, and an
    /// optional `%device` after the address.
    static func endpoint(_ field: Substring, family: SocketTableEntry.Family, line: Substring) throws -> (address: String, port: Int?) {
        guard let colon = field.lastIndex(of: ":") else { throw SocketTableParseError(description: "no port in \(field) of: \(line)") }
        var address = field[..<colon]
        let portText = field[field.index(after: colon)...]
        let port: Int?
        if portText == "*" {
            port = nil
        } else {
            guard let p = Int(portText), (0...65535).contains(p) else { throw SocketTableParseError(description: "bad port in \(field) of: \(line)") }
            port = p
        }
        if let percent = address.firstIndex(of: "%") {
            // `127.0.0.1%lo` or `[fe80::1]%eth0`: the device is not part of the address.
            address = address[..<percent]
        }
        if address.hasPrefix("[") && address.hasSuffix("]") { address = address.dropFirst().dropLast() }
        if address == "*" { return (family == .ipv4 ? "0.0.0.0" : "::", port) }
        let isIPv6Text = address.contains(":")
        guard isIPv6Text == (family == .ipv6) else {
            throw SocketTableParseError(description: "address \(address) is not \(family) in: \(line)")
        }
        return (String(address), port)
    }
}
