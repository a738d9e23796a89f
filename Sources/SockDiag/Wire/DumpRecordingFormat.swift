import SocketModel

/// The container a `DumpRecorder` writes: the raw netlink datagrams of one or more dumps, with
/// what the datagrams do not say themselves (the protocol; `inet_diag_msg` has none), and the
/// answers of the I/O that patched the snapshot after them (kinds 5 and 6; version 2
/// recordings without them stay valid and resolve nothing).
///
///     file      = header frame* trailer
///     header    = "PPSD" version:u8(=2) byteOrder:u8(1 little, 2 big) reserved:u16(=0)
///     frame     = kind:u8 protocol:u8 family:u8 reserved:u8(=0) length:u32le payload[length]
///     kind 1    = a dump starts: protocol (IPPROTO_TCP 6 / IPPROTO_UDP 17), family (AF_INET 2 /
///                 AF_INET6 10, or AF_UNSPEC 0 for a TCP dump of both), length 0
///     kind 2    = one datagram of the current dump, exactly as received (1 ... 1 MiB bytes);
///                 protocol and family repeat the dump's
///     kind 4    = restart: every frame before it is void (the kernel interrupted a dump, or
///                 refused a request, and the dumps started over); protocol 6, family 0,
///                 length 0. Replay analyzes only the dumps after the last restart, as the
///                 live visitor kept only those, and counts the void ones' messages, bytes and
///                 interruptions into the statistics as the live dump did. An interrupted dump
///                 must be followed by a restart or end the recording (the live dump gave up).
///     kind 5    = the answer of one exact lookup made after the dumps (which socket of a
///                 duplicate UDP 4-tuple receives): protocol the lookup's, family the
///                 endpoints' (2 or 10, both the same); payload
///                 localAddress[4|16] localPort:u16le remoteAddress[4|16] remotePort:u16le
///                 interfaceIndex:u32le answer:u8, then for answer 0 (no socket) nothing,
///                 1 (a socket) cookie:u64le, 2 (failed) the reason in UTF-8 (0 ... 64 KiB)
///     kind 6    = one cgroup id resolved after the dumps: protocol 6, family 0 (as a
///                 restart's); payload id:u64le known:u8, then for known 1 the path in UTF-8
///                 (0 ... 64 KiB), for known 0 (the live run could not resolve it) nothing.
///                 Replay answers lookups and cgroup paths from the kind 5 and 6 frames after
///                 the last restart (one per lookup and per id; never inside a dump); what is
///                 not recorded stays unresolved. Addresses are in network order.
///     trailer   = a frame of kind 3, protocol 0, family 0, length 16, whose payload is
///                 frames:u32le dumps:u32le offset:u64le: the number of frames before it (of
///                 any kind), of dump frames among them, and its own offset in the file; it
///                 is the last thing in the file
///
/// The trailer (added in version 2) makes a recording whole or refused: one cut short (at a
/// frame boundary or not) has none, one with bytes appended has them after it, and either is
/// refused with the offset where it went wrong. Version 1 recordings had no trailer and are
/// refused with a message saying to record them again. A new kind of frame can be added
/// before the trailer without changing it: the trailer counts frames of every kind.
///
/// Netlink headers are in the recording host's byte order, which the header names; replay
/// refuses a recording from the other byte order rather than misread it.
enum DumpRecordingFormat {
    static let magic: [UInt8] = Array("PPSD".utf8)
    static let version: UInt8 = 2
    static let headerSize = 8
    static let frameHeaderSize = 8
    static let maximumDatagram = 1 << 20

    static let kindDump: UInt8 = 1
    static let kindDatagram: UInt8 = 2
    static let kindTrailer: UInt8 = 3
    static let trailerPayloadSize = 16
    static let kindRestart: UInt8 = 4
    static let kindLookup: UInt8 = 5
    static let kindCgroup: UInt8 = 6
    /// The longest failure reason or cgroup path a frame holds.
    static let maximumText = 1 << 16

    static var hostByteOrder: UInt8 { 1.littleEndian == 1 ? 1 : 2 }

    static func fileHeader() -> [UInt8] { magic + [version, hostByteOrder, 0, 0] }

    static func frameHeader(kind: UInt8, proto: TransportProtocol, family: AddressFamily?, length: Int) -> [UInt8] {
        let length = UInt32(length)
        return [kind, proto.rawValue, family?.rawValue ?? InetDiagWire.afUnspec, 0,
                UInt8(length & 0xff), UInt8(length >> 8 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 24)]
    }

    /// The last frame of a recording, counting what comes before it (see the format above).
    static func trailer(frames: Int, dumps: Int, offset: Int) -> [UInt8] {
        var bytes: [UInt8] = [kindTrailer, 0, 0, 0, UInt8(trailerPayloadSize), 0, 0, 0]
        for (value, width) in [(UInt64(frames), 4), (UInt64(dumps), 4), (UInt64(offset), 8)] {
            appendLittleEndian(value, width, to: &bytes)
        }
        return bytes
    }

    /// A kind 5 frame: `lookup` and what it came back with. Nil when the format cannot hold it
    /// (endpoints of two families, a reason over `maximumText` bytes).
    static func lookupFrame(_ lookup: ExactLookup, _ answer: LookupAnswer) -> [UInt8]? {
        let family = lookup.local.address.family
        guard lookup.remote.address.family == family else { return nil }
        var payload: [UInt8] = []
        for endpoint in [lookup.local, lookup.remote] {
            payload += endpoint.address.networkBytes
            appendLittleEndian(UInt64(endpoint.port), 2, to: &payload)
        }
        appendLittleEndian(UInt64(lookup.interfaceIndex), 4, to: &payload)
        switch answer {
        case .noSocket:
            payload.append(0)
        case let .socket(cookie):
            payload.append(1)
            appendLittleEndian(cookie, 8, to: &payload)
        case let .failed(reason):
            guard reason.utf8.count <= maximumText else { return nil }
            payload.append(2)
            payload += reason.utf8
        }
        return frameHeader(kind: kindLookup, proto: lookup.proto, family: family, length: payload.count) + payload
    }

    /// A kind 6 frame: cgroup `id` resolved to `path` (nil: unknown). Nil when the path is
    /// over `maximumText` bytes.
    static func cgroupFrame(id: UInt64, path: String?) -> [UInt8]? {
        var payload: [UInt8] = []
        appendLittleEndian(id, 8, to: &payload)
        if let path {
            guard path.utf8.count <= maximumText else { return nil }
            payload.append(1)
            payload += path.utf8
        } else {
            payload.append(0)
        }
        return frameHeader(kind: kindCgroup, proto: .tcp, family: nil, length: payload.count) + payload
    }

    private static func appendLittleEndian(_ value: UInt64, _ width: Int, to bytes: inout [UInt8]) {
        for shift in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
    }

    /// The `width`-byte little-endian number at `offset`; callers check the bounds.
    private static func littleEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ width: Int) -> UInt64 {
        (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    /// Decodes a kind 5 frame's payload (its length was checked against the recording).
    static func decodeLookup(_ frame: Frame) throws(WireError) -> (ExactLookup, LookupAnswer) {
        let p = frame.payload
        let addressSize = frame.family == AddressFamily.ipv6.rawValue ? 16 : 4
        let fixed = 2 * (addressSize + 2) + 4 + 1
        guard frame.family != InetDiagWire.afUnspec, p.count >= fixed else {
            throw .malformed("lookup frame of \(p.count) bytes, family \(frame.family), at offset \(frame.offset)")
        }
        func endpoint(at offset: Int) -> SocketEndpoint? {
            IPAddress(networkBytes: p[offset..<(offset + addressSize)]).map {
                SocketEndpoint(address: $0, port: UInt16(littleEndian(p, at: offset + addressSize, 2)))
            }
        }
        guard let local = endpoint(at: 0), let remote = endpoint(at: addressSize + 2) else {
            throw .malformed("lookup frame addresses at offset \(frame.offset)")
        }
        let lookup = ExactLookup(proto: frame.proto, local: local, remote: remote,
                                 interfaceIndex: UInt32(littleEndian(p, at: 2 * (addressSize + 2), 4)))
        let rest = p.count - fixed
        switch p[fixed - 1] {
        case 0 where rest == 0:
            return (lookup, .noSocket)
        case 1 where rest == 8:
            return (lookup, .socket(cookie: littleEndian(p, at: fixed, 8)))
        case 2 where rest <= maximumText:
            guard let reason = String(validating: p[fixed...], as: UTF8.self) else {
                throw .malformed("lookup failure reason not UTF-8 at offset \(frame.offset)")
            }
            return (lookup, .failed(reason))
        default:
            throw .malformed("lookup answer \(p[fixed - 1]) with \(rest) bytes at offset \(frame.offset)")
        }
    }

    /// Decodes a kind 6 frame's payload (its length was checked against the recording).
    static func decodeCgroup(_ frame: Frame) throws(WireError) -> (id: UInt64, path: String?) {
        let p = frame.payload
        guard frame.family == InetDiagWire.afUnspec, p.count >= 9 else {
            throw .malformed("cgroup frame of \(p.count) bytes, family \(frame.family), at offset \(frame.offset)")
        }
        let id = littleEndian(p, at: 0, 8)
        switch p[8] {
        case 0 where p.count == 9:
            return (id, nil)
        case 1 where p.count - 9 <= maximumText:
            guard let path = String(validating: p[9...], as: UTF8.self) else {
                throw .malformed("cgroup path not UTF-8 at offset \(frame.offset)")
            }
            return (id, path)
        default:
            throw .malformed("cgroup frame known \(p[8]) with \(p.count - 9) path bytes at offset \(frame.offset)")
        }
    }

    struct Summary: Equatable {
        var statistics = DumpStatistics()
        /// The lookup answers and cgroup paths after the last restart.
        var resolutions = RecordedResolutions()
        /// The last dump was marked `NLM_F_DUMP_INTR` and no restart follows.
        var endsInterrupted = false
    }

    /// One frame: its kind, protocol and family bytes, where it starts, and its payload.
    struct Frame {
        var offset: Int
        var kind: UInt8
        var proto: TransportProtocol
        var family: UInt8
        var payload: UnsafeRawBufferPointer
    }

    /// Replays a recording through the same parser as a live dump: `visit` sees every socket of
    /// the dumps after the last restart frame.
    static func replay(_ bytes: UnsafeRawBufferPointer, visit: (SocketRecord) -> Void) throws(WireError) -> Summary {
        guard bytes.count >= headerSize, bytes.starts(with: magic) else {
            throw .malformed("not a portpressure dump recording (no PPSD header)")
        }
        guard bytes[4] != 1 else {
            throw .malformed("recording version 1 has no trailer, so a cut or padded file cannot be told from a whole one: record it again")
        }
        guard bytes[4] == version else { throw .malformed("recording version \(bytes[4]), want \(version)") }
        guard bytes[5] == hostByteOrder else {
            throw .malformed("recording byte order \(bytes[5]) differs from this host's \(hostByteOrder)")
        }
        var lastRestart = -1
        try forEachFrame(bytes) { (frame: Frame) throws(WireError) in
            if frame.kind == kindRestart { lastRestart = frame.offset }
        }

        var summary = Summary()
        // Before the last restart: dumps the live run discarded, counted but not analyzed. One
        // that does not parse to its end (a refused request) counted for nothing live either.
        var void: DumpParser?
        func closeVoid() {
            guard let parser = void, parser.isFinished else { return }
            summary.statistics.messages += parser.messages
            summary.statistics.bytes += parser.bytes
            if parser.interrupted { summary.statistics.retries += 1 }
        }
        var parser: DumpParser?
        try forEachFrame(bytes) { (frame: Frame) throws(WireError) in
            if frame.offset <= lastRestart {
                switch frame.kind {
                case kindLookup:
                    _ = try decodeLookup(frame)   // void, but checked all the same
                case kindCgroup:
                    _ = try decodeCgroup(frame)
                case kindDump:
                    closeVoid()
                    void = DumpParser(proto: frame.proto, expected: nil, countOnly: true)
                case kindDatagram:
                    guard void != nil else { throw .malformed("datagram before any dump frame") }
                    // A void dump's bytes count only if it parses to its end: a failure ends it.
                    do throws(WireError) { _ = try void!.consume(frame.payload) { _ in } } catch { void = nil }
                default:
                    closeVoid()
                    void = nil
                }
                return
            }
            switch frame.kind {
            case kindDump:
                if let previous = parser {
                    guard previous.isFinished else { throw .malformed("dump without NLMSG_DONE") }
                    guard !previous.interrupted else { throw .malformed("an interrupted dump not followed by a restart frame") }
                }
                parser = DumpParser(proto: frame.proto, expected: nil)
            case kindDatagram:
                guard parser != nil else { throw .malformed("datagram before any dump frame") }
                guard parser!.proto == frame.proto else { throw .malformed("datagram protocol differs from its dump's") }
                let before = (parser!.records, parser!.messages, parser!.bytes)
                _ = try parser!.consume(frame.payload, visit: visit)
                summary.statistics.records += parser!.records - before.0
                summary.statistics.messages += parser!.messages - before.1
                summary.statistics.bytes += parser!.bytes - before.2
            case kindLookup, kindCgroup:
                // The live pipeline resolves after its dumps, never within one.
                guard parser?.isFinished ?? true else {
                    throw .malformed("resolution frame inside a dump, at offset \(frame.offset)")
                }
                if frame.kind == kindLookup {
                    let (lookup, answer) = try decodeLookup(frame)
                    guard summary.resolutions.add(lookup, answer) else {
                        throw .malformed("lookup \(lookup) answered twice, at offset \(frame.offset)")
                    }
                } else {
                    let (id, path) = try decodeCgroup(frame)
                    guard summary.resolutions.addCgroup(id, path: path) else {
                        throw .malformed("cgroup id \(id) resolved twice, at offset \(frame.offset)")
                    }
                }
            default:
                throw .malformed("unknown frame kind \(frame.kind) at offset \(frame.offset)")
            }
        }
        if let last = parser {
            guard last.isFinished else { throw .malformed("recording ends inside a dump (no NLMSG_DONE)") }
            summary.endsInterrupted = last.interrupted
        }
        return summary
    }

    /// Checks each frame's header and length and hands it to `body`, in order.
    private static func forEachFrame(
        _ bytes: UnsafeRawBufferPointer, _ body: (Frame) throws(WireError) -> Void
    ) throws(WireError) {
        var offset = headerSize
        var frames = 0
        var dumps = 0
        var trailerSeen = false
        while offset < bytes.count {
            guard !trailerSeen else {
                throw .malformed("\(bytes.count - offset) bytes after the trailer, at offset \(offset)")
            }
            guard bytes.count - offset >= frameHeaderSize else {
                throw .malformed("truncated frame header at offset \(offset)")
            }
            let kind = bytes[offset]
            let length = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            if kind == kindTrailer {
                try checkTrailer(bytes, at: offset, length: length, frames: frames, dumps: dumps)
                trailerSeen = true
                offset += frameHeaderSize + length
                continue
            }
            frames += 1
            if kind == kindDump { dumps += 1 }
            guard let proto = TransportProtocol(rawValue: bytes[offset + 1]) else {
                throw .malformed("frame protocol \(bytes[offset + 1]) at offset \(offset)")
            }
            guard bytes[offset + 2] == InetDiagWire.afUnspec || AddressFamily(rawValue: bytes[offset + 2]) != nil else {
                throw .malformed("frame family \(bytes[offset + 2]) at offset \(offset)")
            }
            let payloadStart = offset + frameHeaderSize
            guard length <= bytes.count - payloadStart else {
                throw .malformed("frame length \(length) exceeds the recording at offset \(offset)")
            }
            switch kind {
            case kindDump, kindRestart:
                guard length == 0 else { throw .malformed("\(kind == kindDump ? "dump" : "restart") frame with \(length) payload bytes") }
            case kindDatagram:
                guard length >= 1, length <= maximumDatagram else { throw .malformed("datagram frame of \(length) bytes") }
            case kindLookup, kindCgroup:
                break   // their decoders check the payload
            default:
                throw .malformed("unknown frame kind \(kind) at offset \(offset)")
            }
            try body(Frame(offset: offset, kind: kind, proto: proto, family: bytes[offset + 2],
                           payload: UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<(payloadStart + length)])))
            offset = payloadStart + length
        }
        guard trailerSeen else {
            throw .malformed("recording ends at offset \(bytes.count) without its trailer: cut short, or not finished by its recorder")
        }
    }

    /// The trailer at `offset` must have the right shape and count what came before it.
    private static func checkTrailer(
        _ bytes: UnsafeRawBufferPointer, at offset: Int, length: Int, frames: Int, dumps: Int
    ) throws(WireError) {
        guard length == trailerPayloadSize, bytes[offset + 1] == 0, bytes[offset + 2] == 0, bytes[offset + 3] == 0 else {
            throw .malformed("malformed trailer at offset \(offset)")
        }
        guard bytes.count - offset - frameHeaderSize >= trailerPayloadSize else {
            throw .malformed("trailer at offset \(offset) cut short")
        }
        func field(_ start: Int, _ width: Int) -> UInt64 { littleEndian(bytes, at: offset + frameHeaderSize + start, width) }
        let (statedFrames, statedDumps, statedOffset) = (field(0, 4), field(4, 4), field(8, 8))
        guard statedOffset == UInt64(offset) else {
            throw .malformed("trailer at offset \(offset) says it is at offset \(statedOffset): bytes are missing or were added before it")
        }
        guard statedFrames == UInt64(frames), statedDumps == UInt64(dumps) else {
            throw .malformed("trailer at offset \(offset) counts \(statedFrames) frames and \(statedDumps) dumps, the recording has \(frames) and \(dumps)")
        }
    }
}
