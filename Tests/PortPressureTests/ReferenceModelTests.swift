import Testing
import SocketModel
import TestSupport
@testable import PortPressure

/// Random records over few addresses and ports, so keys collide, ports repeat and
/// duplicates happen.
func randomRecords(count: Int, seed: UInt64) -> [SocketRecord] {
    var rng = SplitMix64(state: seed)
    let locals4 = (1...5).map { IPAddress(ipv4: 0x0a00_0000 + $0) } + [.ipv4Any]
    let locals6 = [IPAddress("2001:db8::1")!, IPAddress("fe80::1")!, .ipv6Any, IPAddress("::ffff:10.0.0.1")!]
    let remotes4 = (1...40).map { IPAddress(ipv4: 0xc0a8_0000 + $0) }
    let remotes6 = (1...20).map { IPAddress(ipv6High: 0x2001_0db8_0000_0002, low: $0) }
    let tcpStates: [SocketState] = [.established, .established, .established, .timeWait, .synSent,
                                    .finWait1, .finWait2, .closeWait, .lastAck, .closing, .listen,
                                    .close, .boundInactive, .synRecv, .newSynRecv]
    var out: [SocketRecord] = []
    for i in 0..<count {
        let v6 = Int.random(in: 0..<4, using: &rng) == 0
        let proto: TransportProtocol = Bool.random(using: &rng) ? .tcp : .udp
        let state: SocketState = proto == .tcp
            ? tcpStates.randomElement(using: &rng)!
            : (Int.random(in: 0..<3, using: &rng) == 0 ? .close : .established)
        let local = v6 ? locals6.randomElement(using: &rng)! : locals4.randomElement(using: &rng)!
        // Ports straddle the small range (39990-40109) so some are outside or reserved.
        let port = UInt16.random(in: 39990...40109, using: &rng)
        var record = SocketRecord(
            proto: proto, family: v6 ? .ipv6 : .ipv4, state: state,
            local: SocketEndpoint(address: local, port: port),
            remote: SocketEndpoint(address: v6 ? .ipv6Any : .ipv4Any, port: 0),
            uid: UInt32.random(in: 0..<4, using: &rng), inode: UInt32(i + 1), cookie: UInt64(i + 1),
            cgroupID: Bool.random(using: &rng) ? UInt64.random(in: 1...3, using: &rng) : nil)
        if record.hasPeer {
            record.remote = SocketEndpoint(
                address: v6 ? remotes6.randomElement(using: &rng)! : remotes4.randomElement(using: &rng)!,
                port: [53, 80, 443].randomElement(using: &rng)!)
        }
        if state == .timeWait || state == .newSynRecv {
            record.uid = 0
            record.inode = 0
            record.cgroupID = nil
        }
        out.append(record)
    }
    return out
}

/// The analysis done the obvious way, with Sets and Dictionaries.
struct ReferenceModel {
    struct SourceID: Hashable { var proto: TransportProtocol; var address: IPAddress }
    struct DestinationID: Hashable { var source: SourceID; var remote: SocketEndpoint }
    struct OwnerID: Hashable { var proto: TransportProtocol; var uid: UInt32?; var cgroup: UInt64? }
    struct TupleID: Hashable { var source: SourceID; var tuple: FourTuple }

    var states: [String: Int] = [:]
    var sourcePorts: [SourceID: Set<UInt16>] = [:]
    var sourceBound: [SourceID: Set<UInt16>] = [:]
    var sourceSockets: [SourceID: Int] = [:]
    var allSources: Set<SourceID> = []
    var destinationPorts: [DestinationID: Set<UInt16>] = [:]
    var destinationSockets: [DestinationID: Int] = [:]
    var ownerPorts: [OwnerID: Set<UInt16>] = [:]
    var ownerSockets: [OwnerID: Int] = [:]
    var protocolPorts: [TransportProtocol: Set<UInt16>] = [:]
    var protocolBound: [TransportProtocol: Set<UInt16>] = [:]
    var tuples: [TupleID: [UInt64]] = [:]

    init(_ records: [SocketRecord], range: EphemeralRange) {
        for r in records {
            states["\(r.proto.name)/\(r.family.name)/\(r.stateName)", default: 0] += 1
            let source = SourceID(proto: r.proto, address: r.local.address)
            allSources.insert(source)
            if r.proto == .udp && r.state == .established {
                tuples[TupleID(source: source, tuple: FourTuple(local: r.local, remote: r.remote)), default: []].append(r.cookie)
            }
            guard r.local.port >= range.low && r.local.port <= range.high
                    && !range.reservedPorts.contains(r.local.port) else { continue }
            sourcePorts[source, default: []].insert(r.local.port)
            sourceSockets[source, default: 0] += 1
            protocolPorts[r.proto, default: []].insert(r.local.port)
            if r.hasPeer {
                let d = DestinationID(source: source, remote: r.remote)
                destinationPorts[d, default: []].insert(r.local.port)
                destinationSockets[d, default: 0] += 1
            } else {
                sourceBound[source, default: []].insert(r.local.port)
                protocolBound[r.proto, default: []].insert(r.local.port)
            }
            let noOwner = r.inode == 0 && r.uid == 0 && r.cgroupID == nil
            let owner = OwnerID(proto: r.proto, uid: noOwner ? nil : r.uid, cgroup: r.cgroupID)
            ownerPorts[owner, default: []].insert(r.local.port)
            ownerSockets[owner, default: 0] += 1
        }
    }
}

@Suite struct ReferenceModelTests {
    @Test(arguments: [(1, 300), (2, 5_000), (3, 40_000)])
    func analyzerAgreesWithTheReference(seed: UInt64, count: Int) {
        let records = randomRecords(count: count, seed: seed)
        let model = ReferenceModel(records, range: smallRange)
        let options = AnalysisOptions(topDestinationsPerSource: 1_000, topDestinations: 1_000_000,
                                      topOwners: 1_000, topUDPDuplicates: 1_000_000)
        let s = analyze(records, options: options)

        #expect(s.recordCount == count)
        for c in s.sockets {
            #expect(c.count == model.states["\(c.proto.name)/\(c.family.name)/\(c.state)"] ?? 0, "\(c)")
        }
        #expect(s.sockets.reduce(0) { $0 + $1.count } == count)

        #expect(Set(s.sources.map { ReferenceModel.SourceID(proto: $0.proto, address: $0.localAddress) }) == model.allSources)
        for src in s.sources {
            let id = ReferenceModel.SourceID(proto: src.proto, address: src.localAddress)
            #expect(src.portsUsed == model.sourcePorts[id]?.count ?? 0)
            #expect(src.sockets == model.sourceSockets[id] ?? 0)
            #expect(src.boundPorts == model.sourceBound[id]?.count ?? 0)
            let mine = model.destinationPorts.filter { $0.key.source == id }
            #expect(src.destinationCount == mine.count)
            #expect(src.maxDestinationPortsUsed == mine.values.map(\.count).max() ?? 0)
            #expect(src.topDestinations.count == mine.count)
            // Ranked: ports used never increase.
            #expect(zip(src.topDestinations, src.topDestinations.dropFirst()).allSatisfy { $0.portsUsed >= $1.portsUsed })
        }
        for p in s.protocols {
            #expect(p.portsUsed == model.protocolPorts[p.proto]?.count ?? 0)
            #expect(p.boundPorts == model.protocolBound[p.proto]?.count ?? 0)
        }

        #expect(s.destinationCount == model.destinationPorts.count)
        #expect(s.topDestinations.count == model.destinationPorts.count)
        for d in s.topDestinations {
            let id = ReferenceModel.DestinationID(
                source: .init(proto: d.proto, address: d.localAddress),
                remote: SocketEndpoint(address: d.remoteAddress, port: d.remotePort))
            #expect(d.portsUsed == model.destinationPorts[id]?.count)
            #expect(d.sockets == model.destinationSockets[id])
        }

        #expect(s.ownerCount == model.ownerPorts.count)
        for o in s.owners {
            let id = ReferenceModel.OwnerID(proto: o.proto, uid: o.uid, cgroup: o.cgroupID)
            #expect(o.portsUsed == model.ownerPorts[id]?.count)
            #expect(o.sockets == model.ownerSockets[id])
        }

        let duplicates = model.tuples.filter { $0.value.count > 1 }
        #expect(s.udpDuplicates.count == duplicates.count)
        for d in s.udpDuplicates {
            let id = ReferenceModel.TupleID(source: .init(proto: .udp, address: d.local.address), tuple: d.tuple)
            #expect(d.sockets.map(\.cookie) == duplicates[id])
        }
        for family in AddressFamily.allCases {
            let mine = duplicates.filter { $0.key.source.address.family == family }
            let totals = s.udpDuplicateTotals.first { $0.family == family }
            #expect(totals?.tuples == mine.count)
            #expect(totals?.sockets == mine.values.reduce(0) { $0 + $1.count })
            #expect(totals?.overshadowedSockets == mine.values.reduce(0) { $0 + $1.count - 1 })
        }
        if count > 1000 { #expect(!duplicates.isEmpty) }
    }

    @Test func resetThenReplayGivesTheSameSnapshot() {
        let records = randomRecords(count: 3_000, seed: 9)
        var analyzer = PortPressureAnalyzer(range: smallRange)
        for r in records.prefix(1_234) { analyzer.add(r) }   // an interrupted dump
        analyzer.reset()
        for r in records { analyzer.add(r) }
        #expect(analyzer.finish() == analyze(records))
    }

    @Test func topKIsTheSortedPrefix() {
        var rng = SplitMix64(state: 4)
        let values = (0..<500).map { _ in Int.random(in: 0..<100, using: &rng) }
        let ranksBefore = { (a: Int, b: Int) in values[a] != values[b] ? values[a] > values[b] : a < b }
        let sorted = values.indices.sorted(by: ranksBefore)
        for k in [0, 1, 7, 499, 500, 900] {
            #expect(topK(values.indices, k, by: ranksBefore) == Array(sorted.prefix(k)))
        }
    }
}
