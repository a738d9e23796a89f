import SocketModel
@testable import PortPressure

/// A small but complete population for the view tests.
func sampleSnapshot() -> Snapshot {
    var records: [SocketRecord] = []
    for p in 40000..<40009 { records.append(record(.tcp, .established, "10.0.0.1:\(p)", "10.0.0.2:443", uid: 1000, inode: UInt32(p), cgroup: 7)) }
    for p in 40020..<40025 { records.append(timeWait("10.0.0.1:\(p)", "10.0.0.2:443")) }
    for p in 40030..<40032 { records.append(record(.tcp, .established, "[2001:db8::1]:\(p)", "[2001:db8::2]:80", uid: 33, inode: UInt32(p))) }
    records.append(record(.tcp, .listen, "0.0.0.0:22", uid: 0, inode: 5))
    records.append(record(.tcp, .listen, "10.0.0.1:40090", uid: 1000, inode: 6, cgroup: 7))
    records.append(record(.udp, .established, "10.0.0.1:40040", "10.0.0.3:53", uid: 1000, inode: 11, cookie: 101))
    records.append(record(.udp, .established, "10.0.0.1:40040", "10.0.0.3:53", uid: 1001, inode: 12, cookie: 102))
    return analyze(records)
        .resolvingReceivers { _ in .socket(cookie: 102) }
        .resolvingCgroupPaths { $0 == 7 ? "/system.slice/app.service" : nil }
}
