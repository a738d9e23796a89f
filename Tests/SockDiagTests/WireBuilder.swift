@testable import SockDiag
import SocketModel

/// Builds netlink bytes by hand for parser tests (host byte order, like the kernel's).
struct WireBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v) { bytes += $0 } }
    mutating func i32(_ v: Int32) { withUnsafeBytes(of: v) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v) { bytes += $0 } }
    mutating func be16(_ v: UInt16) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func pad() { while bytes.count % 4 != 0 { bytes.append(0) } }

    /// One netlink message: header + payload, padded.
    static func message(type: UInt16, flags: UInt16 = NetlinkWire.flagMulti, sequence: UInt32 = 7, portID: UInt32 = 99,
                        payload: [UInt8], length: UInt32? = nil, padded: Bool = true) -> [UInt8] {
        var b = WireBuilder()
        b.u32(length ?? UInt32(16 + payload.count))
        b.u16(type)
        b.u16(flags)
        b.u32(sequence)
        b.u32(portID)
        b.bytes += payload
        if padded { b.pad() }
        return b.bytes
    }

    /// One attribute: length, type, payload, padding.
    static func attribute(type: UInt16, payload: [UInt8], length: UInt16? = nil, padded: Bool = true) -> [UInt8] {
        var b = WireBuilder()
        b.u16(length ?? UInt16(4 + payload.count))
        b.u16(type)
        b.bytes += payload
        if padded { b.pad() }
        return b.bytes
    }

    /// A `struct inet_diag_msg` for `record` (its proto is not encoded), then `attributes`.
    static func inetDiagMessage(_ r: SocketRecord, timer: UInt8 = 0, attributes: [UInt8] = []) -> [UInt8] {
        var b = WireBuilder()
        b.u8(r.family.rawValue)
        b.u8(r.state.rawValue)
        b.u8(timer)
        b.u8(0)
        b.be16(r.local.port)
        b.be16(r.remote.port)
        for address in [r.local.address, r.remote.address] {
            let n = address.networkBytes
            b.bytes += n + [UInt8](repeating: 0, count: 16 - n.count)
        }
        b.u32(r.interfaceIndex)
        b.u32(UInt32(truncatingIfNeeded: r.cookie))
        b.u32(UInt32(truncatingIfNeeded: r.cookie >> 32))
        b.u32(0xdead)  // expires
        b.u32(1)       // rqueue
        b.u32(2)       // wqueue
        b.u32(r.uid)
        b.u32(r.inode)
        var attrs = attributes
        if let id = r.cgroupID {
            var v = WireBuilder()
            v.u64(id)
            attrs += attribute(type: InetDiagWire.attributeCgroupID, payload: v.bytes)
        }
        return b.bytes + attrs
    }

    static func sockDiagMessage(_ r: SocketRecord, flags: UInt16 = NetlinkWire.flagMulti, sequence: UInt32 = 7,
                                attributes: [UInt8] = []) -> [UInt8] {
        message(type: NetlinkWire.sockDiagByFamily, flags: flags, sequence: sequence,
                payload: inetDiagMessage(r, attributes: attributes))
    }

    static func done(sequence: UInt32 = 7, status: Int32 = 0, flags: UInt16 = NetlinkWire.flagMulti) -> [UInt8] {
        var b = WireBuilder()
        b.i32(status)
        return message(type: NetlinkWire.done, flags: flags, sequence: sequence, payload: b.bytes)
    }

    static func error(_ code: Int32, sequence: UInt32 = 7) -> [UInt8] {
        var b = WireBuilder()
        b.i32(code)
        b.bytes += [UInt8](repeating: 0, count: 16)  // the request's header, echoed
        return message(type: NetlinkWire.error, flags: 0, sequence: sequence, payload: b.bytes)
    }
}

/// Sample records covering both families and odd values.
enum Samples {
    static let v4Established = SocketRecord(
        proto: .tcp, family: .ipv4, state: .established,
        local: SocketEndpoint(address: IPAddress("10.1.2.3")!, port: 51234),
        remote: SocketEndpoint(address: IPAddress("192.0.2.80")!, port: 443),
        interfaceIndex: 0, uid: 1000, inode: 123_456, cookie: 0x0000_0001_0000_0002, cgroupID: 4242
    )
    static let v6Listen = SocketRecord(
        proto: .tcp, family: .ipv6, state: .listen,
        local: SocketEndpoint(address: IPAddress("2001:db8::1")!, port: 8443),
        remote: SocketEndpoint(address: .ipv6Any, port: 0),
        interfaceIndex: 3, uid: 0, inode: 77, cookie: 0xffff_ffff_0000_0000, cgroupID: nil
    )
    static let v4TimeWait = SocketRecord(
        proto: .tcp, family: .ipv4, state: .timeWait,
        local: SocketEndpoint(address: .ipv4Loopback, port: 65535),
        remote: SocketEndpoint(address: IPAddress("127.255.0.1")!, port: 1),
        interfaceIndex: 0, uid: 0, inode: 0, cookie: 9, cgroupID: nil
    )
}

/// Runs the dump parser over datagrams, collecting records.
func parseDump(_ datagrams: [[UInt8]], proto: TransportProtocol = .tcp, expected: ReplyAddress? = nil,
               countOnly: Bool = false) throws(WireError) -> (records: [SocketRecord], parser: DumpParser, progress: [DumpParser.Progress]) {
    var parser = DumpParser(proto: proto, expected: expected, countOnly: countOnly)
    var records: [SocketRecord] = []
    var progress: [DumpParser.Progress] = []
    for datagram in datagrams {
        let result: Result<DumpParser.Progress, WireError> = datagram.withUnsafeBytes { raw in
            do throws(WireError) {
                return .success(try parser.consume(raw) { records.append($0) })
            } catch {
                return .failure(error)
            }
        }
        progress.append(try result.get())
    }
    return (records, parser, progress)
}

func decode(_ payload: [UInt8], proto: TransportProtocol = .tcp) throws(WireError) -> SocketRecord {
    let result: Result<SocketRecord, WireError> = payload.withUnsafeBytes { raw in
        do throws(WireError) { return .success(try InetDiagMessageDecoder.decode(raw, proto: proto)) } catch { return .failure(error) }
    }
    return try result.get()
}
