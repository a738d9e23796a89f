import Testing
import SockDiag
import SocketModel
import TestSupport

@Test func smokeDumpInNamespace() throws {
    let ns = try NetworkNamespace()
    let (records, listener): ([SocketRecord], SocketEndpoint) = try ns.run {
        let client = try SockDiagClient()
        let l = try TestSocket.make(.ipv4, .tcp)
        try l.bind(.v4("127.0.0.1", 0))
        try l.listen()
        var records: [SocketRecord] = []
        try client.dump(DumpQuery(proto: .tcp, family: .ipv4)) { records.append($0) }
        return (records, try l.localEndpoint())
    }
    print(records)
    #expect(records.contains { $0.local == listener && $0.state == .listen })
}
