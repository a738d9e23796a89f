import SocketModel
import PortPressure

/// Hand-built records for the analysis tests.
func endpoint(_ text: String) -> SocketEndpoint {
    guard let e = SocketEndpoint(text, portOptional: true) else { fatalError("bad endpoint \(text)") }
    return e
}

func address(_ text: String) -> IPAddress {
    guard let a = IPAddress(text) else { fatalError("bad address \(text)") }
    return a
}

/// A socket record; `remote` defaults to the unspecified address of the local's family.
func record(
    _ proto: TransportProtocol, _ state: SocketState, _ local: String, _ remote: String? = nil,
    uid: UInt32 = 1000, inode: UInt32 = 1, cookie: UInt64 = 1, cgroup: UInt64? = nil,
    interface: UInt32 = 0
) -> SocketRecord {
    let l = endpoint(local)
    let r = remote.map(endpoint) ?? SocketEndpoint(
        address: l.address.family == .ipv4 ? .ipv4Any : .ipv6Any, port: 0)
    return SocketRecord(proto: proto, family: l.address.family, state: state, local: l, remote: r,
                        interfaceIndex: interface, uid: uid, inode: inode, cookie: cookie, cgroupID: cgroup)
}

/// A TIME_WAIT socket as the kernel reports it: uid 0, no inode, no cgroup.
func timeWait(_ local: String, _ remote: String, cookie: UInt64 = 1) -> SocketRecord {
    record(.tcp, .timeWait, local, remote, uid: 0, inode: 0, cookie: cookie, cgroup: nil)
}

extension Snapshot {
    func source(_ proto: TransportProtocol, _ address: String) -> SourceUsage? {
        sources.first { $0.proto == proto && $0.localAddress == IPAddress(address) }
    }

    func count(_ proto: TransportProtocol, _ family: AddressFamily, _ state: String) -> Int? {
        sockets.first { $0.proto == proto && $0.family == family && $0.state == state }?.count
    }
}

/// A small range with reserved ports: 40000–40099 minus 40010–40019 and 40050 (limit 89).
let smallRange = EphemeralRange(low: 40000, high: 40099, reservedPorts: PortSet([40050, 30000] + Array(40010...40019)))

func analyze(_ records: [SocketRecord], range: EphemeralRange = smallRange,
             options: AnalysisOptions = AnalysisOptions()) -> Snapshot {
    var analyzer = PortPressureAnalyzer(range: range, options: options)
    for r in records { analyzer.add(r) }
    return analyzer.finish()
}
