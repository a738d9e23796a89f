import SocketModel

/// What the request logic needs from a netlink socket; `NetlinkSession` is the real one, tests
/// script their own to drive retries and failures the kernel will not produce on demand.
protocol NetlinkTransport: ~Copyable {
    /// Our netlink port id, which replies carry.
    var portID: UInt32 { get }
    mutating func nextSequence() -> UInt32
    mutating func send(_ request: [UInt8]) throws(SockDiagError)
    /// One datagram, valid until the next call.
    mutating func receive() throws(SockDiagError) -> UnsafeRawBufferPointer
    /// The current reply was not read to its end; clear it before the next request.
    mutating func abandonReply()
}

/// The request logic of `SockDiagClient`, over any transport: dumps with bounded
/// `NLM_F_DUMP_INTR` retries, and exact lookups.
enum SockDiagRequests {
    static func dump<Transport: NetlinkTransport & ~Copyable>(
        _ query: DumpQuery, countOnly: Bool, maximumAttempts: Int, transport: inout Transport,
        recorder: DumpRecorder?, restart: () -> Void, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) -> DumpStatistics {
        let name = "dump \(query)"
        var statistics = DumpStatistics()
        for attempt in 1...max(1, maximumAttempts) {
            if attempt > 1 {
                restart()
                statistics.retries += 1
            }
            let sequence = transport.nextSequence()
            let request: [UInt8]
            do {
                request = try InetDiagRequest.dump(query, sequence: sequence)
            } catch {
                throw SockDiagError(error, request: name)
            }
            try transport.send(request)
            var parser = DumpParser(
                proto: query.proto, expected: ReplyAddress(sequence: sequence, portID: transport.portID), countOnly: countOnly
            )
            do throws(SockDiagError) {
                try recorder?.beginDump(proto: query.proto, family: query.family)
                try receive(into: &parser, transport: &transport, recorder: recorder, query: query, visit: visit)
            } catch {
                statistics.messages += parser.messages
                statistics.bytes += parser.bytes
                transport.abandonReply()
                throw error
            }
            statistics.messages += parser.messages
            statistics.bytes += parser.bytes
            if !parser.interrupted {
                statistics.records = parser.records
                return statistics
            }
        }
        throw .dumpInterrupted(attempts: max(1, maximumAttempts))
    }

    /// Datagrams until `NLMSG_DONE`, bounded.
    private static func receive<Transport: NetlinkTransport & ~Copyable>(
        into parser: inout DumpParser, transport: inout Transport,
        recorder: DumpRecorder?, query: DumpQuery, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) {
        for _ in 0..<NetlinkSession.maximumDatagrams {
            let datagram = try transport.receive()
            try recorder?.record(datagram, proto: query.proto, family: query.family)
            do {
                if try parser.consume(datagram, visit: visit) == .finished { return }
            } catch {
                throw SockDiagError(error, request: "dump \(query)")
            }
        }
        throw .malformed("dump \(query) did not end within \(NetlinkSession.maximumDatagrams) datagrams")
    }

    static func lookup<Transport: NetlinkTransport & ~Copyable>(
        proto: TransportProtocol, local: SocketEndpoint, remote: SocketEndpoint,
        interfaceIndex: UInt32, cookie: UInt64?, transport: inout Transport
    ) throws(SockDiagError) -> SocketRecord? {
        guard local.address.family == remote.address.family else { return nil }
        let sequence = transport.nextSequence()
        let request = InetDiagRequest.lookup(
            proto: proto, local: local, remote: remote, interfaceIndex: interfaceIndex, cookie: cookie, sequence: sequence
        )
        try transport.send(request)
        let datagram: UnsafeRawBufferPointer
        do throws(SockDiagError) {
            datagram = try transport.receive()
        } catch {
            transport.abandonReply()
            throw error
        }
        do throws(WireError) {
            return try LookupReplyParser.parse(
                datagram, proto: proto, expected: ReplyAddress(sequence: sequence, portID: transport.portID)
            )
        } catch {
            switch error {
            case .kernel(code: Self.enoent): return nil
            case .kernel: break
            case .malformed: transport.abandonReply()
            }
            throw SockDiagError(error, request: "lookup \(proto.name) \(local) <- \(remote)")
        }
    }

    /// `ENOENT`, spelled here so this file needs no libc import.
    private static let enoent: Int32 = 2
}
