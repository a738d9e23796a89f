// libFuzzer harness over SockDiag's pure wire layer (Sources/SockDiag/Wire), compiled with
// SocketModel only: see Fuzz/run.sh. Whatever the bytes, parsing must end in a value or a
// WireError: never a trap, an out-of-bounds read (ASan) or a hang.
//
// Input: a recording (starts with "PPSD") is replayed whole, and what it resolves (lookup
// answers, cgroup paths) must re-encode to a recording that resolves the same; anything else
// is one selector byte and a body:
//   0  the body is one datagram of a TCP dump, then of a count-only UDP dump
//   1  the body is a lookup reply
//   2  the body is an inet_diag_msg payload (message + attributes) to decode
//   3  the body describes a SocketFilter, which is compiled to bytecode
//   4  the body is cut into datagrams (a length byte before each) of one dump with sequence checks
import SocketModel

@_cdecl("LLVMFuzzerTestOneInput")
public func sockDiagFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    if input.starts(with: DumpRecordingFormat.magic) {
        var visited = 0
        if let summary = try? DumpRecordingFormat.replay(input, visit: { _ in visited += 1 }) {
            precondition(summary.statistics.records == visited && summary.statistics.retries >= 0)
            var again = DumpRecordingFormat.fileHeader()
            var frames = 0
            for (lookup, answer) in summary.resolutions.lookups {
                again += DumpRecordingFormat.lookupFrame(lookup, answer)!
                frames += 1
            }
            for (id, path) in summary.resolutions.cgroupPaths {
                again += DumpRecordingFormat.cgroupFrame(id: id, path: path)!
                frames += 1
            }
            again += DumpRecordingFormat.trailer(frames: frames, dumps: 0, offset: again.count)
            let reread = again.withUnsafeBytes { try? DumpRecordingFormat.replay($0, visit: { _ in }) }
            precondition(reread?.resolutions == summary.resolutions)
        }
        return 0
    }
    guard let selector = input.first else { return 0 }
    let body = UnsafeRawBufferPointer(rebasing: input[1...])
    switch selector % 5 {
    case 0:
        var visited = 0
        var parser = DumpParser(proto: .tcp, expected: nil)
        if (try? parser.consume(body, visit: { record in
            precondition(record.proto == .tcp)
            visited += 1
        })) != nil {
            precondition(visited == parser.records)
        }
        var counter = DumpParser(proto: .udp, expected: nil, countOnly: true)
        _ = try? counter.consume(body, visit: { _ in preconditionFailure("count-only dumps visit nothing") })
    case 1:
        _ = try? LookupReplyParser.parse(body, proto: .udp, expected: ReplyAddress(sequence: 7, portID: 99))
        _ = try? LookupReplyParser.parse(body, proto: .tcp, expected: nil)
    case 2:
        if let record = try? InetDiagMessageDecoder.decode(body, proto: .tcp) {
            precondition(record.local.address.family == record.family && record.remote.address.family == record.family)
        }
    case 3:
        var reader = ByteSource(body)
        let filter = reader.filter(depth: 4)
        if let program = try? FilterBytecode.compile(filter) {
            precondition(program.count % 4 == 0 && program.count >= 4 && program.count <= FilterBytecode.maximumLength)
        }
    default:
        var parser = DumpParser(proto: .udp, expected: ReplyAddress(sequence: 7, portID: 99))
        var offset = 0
        while offset < body.count {
            let length = min(Int(body[offset]) * 4, body.count - offset - 1)
            let datagram = UnsafeRawBufferPointer(rebasing: body[(offset + 1)..<(offset + 1 + length)])
            offset += 1 + length
            guard let progress = try? parser.consume(datagram, visit: { _ in }) else { break }
            if progress == .finished { break }
        }
    }
    return 0
}

/// Turns fuzzer bytes into a filter tree.
struct ByteSource {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func address() -> IPAddress {
        if byte() & 1 == 0 {
            return IPAddress(ipv4: UInt32(byte()) << 24 | UInt32(byte()) << 16 | UInt32(byte()) << 8 | UInt32(byte()))
        }
        var high: UInt64 = 0, low: UInt64 = 0
        for _ in 0..<8 { high = high << 8 | UInt64(byte()) }
        for _ in 0..<8 { low = low << 8 | UInt64(byte()) }
        return IPAddress(ipv6High: high, low: low)
    }

    mutating func filter(depth: Int) -> SocketFilter {
        let kind = byte()
        switch kind % (depth > 0 ? 6 : 4) {
        case 0: return .localAddress(address())
        case 1: return .remoteAddress(address())
        case 2: return .localPort(UInt16(byte()) << 8 | UInt16(byte()))
        case 3: return .remotePort(UInt16(byte()) << 8 | UInt16(byte()))
        case 4: return .all((0..<Int(byte() % 8)).map { _ in filter(depth: depth - 1) })
        default:
            // Occasionally a wide disjunction, to reach the size limit.
            let count = kind >= 0xf0 ? Int(byte()) * 32 : Int(byte() % 8)
            return .any((0..<count).map { _ in filter(depth: depth - 1) })
        }
    }
}
