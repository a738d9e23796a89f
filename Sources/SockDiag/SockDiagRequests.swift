import SocketModel

/// The request logic of `SockDiagClient`, over any transport: dumps with bounded
/// `NLM_F_DUMP_INTR` retries, and exact lookups.
enum SockDiagRequests {
    /// Dumps `queries` in order into one visitor. When the kernel marks a dump interrupted
    /// (`NLM_F_DUMP_INTR`: its tables changed during the walk), the visitor can only forget
    /// everything, so the whole sequence starts over: `restart` is called, the recorder gets a
    /// restart frame, and every query is dumped again, at most `maximumAttempts` times in all.
    /// This is the one place an interrupted dump is redone.
    static func dump<Transport: NetlinkTransport & ~Copyable>(
        _ queries: [DumpQuery], countOnly: Bool, maximumAttempts: Int, transport: inout Transport,
        recorder: DumpRecorder?, restart: () -> Void, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) -> DumpStatistics {
        var statistics = DumpStatistics()
        for attempt in 1...max(1, maximumAttempts) {
            if attempt > 1 {
                restart()
                try recorder?.restart()
                statistics.retries += 1
            }
            var records = 0
            var interrupted = false
            for query in queries {
                let parser = try dumpOnce(query, countOnly: countOnly, transport: &transport, recorder: recorder,
                                          statistics: &statistics, visit: visit)
                records += parser.records
                if parser.interrupted {
                    interrupted = true
                    break
                }
            }
            if !interrupted {
                statistics.records = records
                return statistics
            }
        }
        throw .dumpInterrupted(attempts: max(1, maximumAttempts))
    }

    /// One dump request and its whole reply; messages and bytes go to `statistics` even when it fails.
    private static func dumpOnce<Transport: NetlinkTransport & ~Copyable>(
        _ query: DumpQuery, countOnly: Bool, transport: inout Transport, recorder: DumpRecorder?,
        statistics: inout DumpStatistics, visit: (SocketRecord) -> Void
    ) throws(SockDiagError) -> DumpParser {
        let sequence = transport.nextSequence()
        let request: [UInt8]
        do {
            request = try InetDiagRequest.dump(query, sequence: sequence)
        } catch {
            throw SockDiagError(error, request: "dump \(query)")
        }
        try transport.send(request)
        var parser = DumpParser(
            proto: query.proto, expected: ReplyAddress(sequence: sequence, portID: transport.portID), countOnly: countOnly
        )
        defer {
            statistics.messages += parser.messages
            statistics.bytes += parser.bytes
        }
        do throws(SockDiagError) {
            try recorder?.beginDump(proto: query.proto, family: query.family)
            try receive(into: &parser, transport: &transport, recorder: recorder, query: query, visit: visit)
        } catch {
            transport.abandonReply()
            throw error
        }
        return parser
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
