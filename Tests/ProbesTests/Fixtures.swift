#if canImport(Glibc)
import Glibc
#endif
import ConnectX
@testable import Probes
import SocketModel
import Synchronization
import TestSupport
import Testing

/// Every test of this target, one at a time: the leak test counts descriptors of the
/// process, and the namespace tests time things on a shared two-core machine.
@Suite(.serialized) struct ProbesTests {}

/// A socket a test made with the raw calls (not with the code under test); closed on deinit.
final class TestSocket: @unchecked Sendable {
    let fd: CInt
    init(_ fd: CInt) { self.fd = fd }
    deinit { Glibc.close(fd) }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ call: String) { description = "\(call): \(String(cString: strerror(errno)))" }
    }

    /// A socket of `proto` and the family of `address`, close-on-exec.
    static func open(_ proto: TransportProtocol, family: AddressFamily) throws -> TestSocket {
        let fd = socket(family == .ipv4 ? AF_INET : AF_INET6,
                        Int32(proto == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        return TestSocket(fd)
    }

    func setOption(_ level: CInt, _ name: CInt, _ value: CInt) throws {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 else { throw Failure("setsockopt \(name)") }
    }

    func bind(_ text: String) throws {
        let result = Self.withAddress(text) { Glibc.bind(fd, $0, $1) }
        guard result == 0 else { throw Failure("bind \(text)") }
    }

    /// `connect(2)`; returns the errno on failure instead of throwing (tests fill ranges).
    func connect(_ text: String) -> CInt {
        let result = Self.withAddress(text) { Glibc.connect(fd, $0, $1) }
        return result == 0 ? 0 : errno
    }

    /// `SO_LINGER` with a zero timeout: `close()` sends a reset and leaves no TIME_WAIT.
    func resetOnClose() throws {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        guard setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)) == 0 else {
            throw Failure("setsockopt SO_LINGER")
        }
    }

    var cookie: UInt64 { (try? ProbeIO.cookie(fd)) ?? 0 }

    /// The bound local endpoint.
    var local: ConnectX.Endpoint {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let inet = withUnsafeBytes(of: storage) { $0.loadUnaligned(as: sockaddr_in.self) }
        return ConnectX.Endpoint(address: IPAddress(ipv4: UInt32(bigEndian: inet.sin_addr.s_addr)), port: UInt16(bigEndian: inet.sin_port))
    }

    /// Calls `body` with a `sockaddr` for an IPv4 `a.b.c.d:port` literal.
    static func withAddress<T>(_ text: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let endpoint = ep(text)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = endpoint.port.bigEndian
        address.sin_addr.s_addr = endpoint.address.ipv4Value!.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

func ep(_ text: String) -> ConnectX.Endpoint {
    guard let endpoint = ConnectX.Endpoint(parsing: text, portOptional: true) else { fatalError("bad test literal \(text)") }
    return endpoint
}

enum Fixture {
    /// A TCP listener on `text` (SO_REUSEADDR, so TIME_WAIT of earlier runs is harmless).
    static func tcpListener(_ text: String, backlog: CInt = 512) throws -> TestSocket {
        let socket = try TestSocket.open(.tcp, family: .ipv4)
        try socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
        try socket.bind(text)
        guard listen(socket.fd, backlog) == 0 else { throw TestSocket.Failure("listen") }
        return socket
    }

    /// A UDP socket bound to `text`.
    static func udpSocket(_ text: String, reuseAddress: Bool = false) throws -> TestSocket {
        let socket = try TestSocket.open(.udp, family: .ipv4)
        if reuseAddress { try socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1) }
        try socket.bind(text)
        return socket
    }

    /// Connects new sockets of `proto` to `destination` (bound first to `source` when given)
    /// until one fails, at most `limit`; returns them and the failing errno (0 if none failed).
    static func fill(_ proto: TransportProtocol, toward destination: String, from source: String? = nil,
                     bindAddressNoPort: Bool = false, limit: Int = 200) throws -> (sockets: [TestSocket], errno: CInt) {
        var sockets: [TestSocket] = []
        for _ in 0..<limit {
            let socket = try TestSocket.open(proto, family: .ipv4)
            if proto == .tcp { try socket.resetOnClose() }
            if bindAddressNoPort { try socket.setOption(CInt(IPPROTO_IP), 24 /* IP_BIND_ADDRESS_NO_PORT */, 1) }
            if let source { try socket.bind(source) }
            let error = socket.connect(destination)
            if error != 0 { return (sockets, error) }
            sockets.append(socket)
        }
        return (sockets, 0)
    }
}

/// A probe definition from test literals.
func probe(_ name: String = "p", _ proto: TransportProtocol, _ target: String, source: String? = nil,
           method: ConnectOptions.Method = .connectx, timeout: Duration = .seconds(2),
           send: String? = nil, expect: String? = nil) -> ProbeDefinition {
    ProbeDefinition(name: name, proto: proto, target: ProbeTarget(parsing: target)!, source: source.map(ep), method: method,
                    interval: .seconds(15), timeout: timeout, send: send.map { Array($0.utf8) }, expect: expect.map { Array($0.utf8) })
}

/// A UDP server on its own thread: answers each datagram as `answer` says, until stopped.
final class UDPServer: @unchecked Sendable {
    enum Answer: Sendable {
        /// Sends the datagram back.
        case echo
        /// Sends these bytes instead.
        case reply([UInt8])
        /// Says nothing.
        case silent
        /// Before echoing, binds `shadow` (SO_REUSEADDR) to the sender's address and connects
        /// it back to this server: the newest socket on the 4-tuple takes the reply.
        case overshadow(TestSocket)
    }

    let socket: TestSocket
    private let answer: Answer
    private let stopping = Atomic<Bool>(false)
    private let served = Atomic<Int>(0)
    private var thread: ProbeThread?

    /// Serves on `socket` (created by the caller in the namespace).
    init(_ socket: TestSocket, answer: Answer) throws {
        self.socket = socket
        self.answer = answer
        thread = try ProbeThread.start { [self] in serve() }
    }

    /// Datagrams answered (or ignored, when silent) so far.
    var count: Int { served.load(ordering: .acquiring) }

    func stop() {
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while !stopping.load(ordering: .acquiring) {
            var entry = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 20) > 0 else { continue }
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length) }
            }
            guard count >= 0 else { continue }
            var reply = Array(buffer[..<count])
            switch answer {
            case .echo: break
            case .reply(let bytes): reply = bytes
            case .silent: reply = []
            case .overshadow(let shadow):
                let me = socket.local
                let sender = "\(IPAddress(ipv4: UInt32(bigEndian: peer.sin_addr.s_addr))):\(UInt16(bigEndian: peer.sin_port))"
                try? shadow.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
                try? shadow.bind(sender)
                _ = shadow.connect(me.description)
            }
            // Counted before the reply leaves, so a probe that got its reply sees the count.
            served.add(1, ordering: .releasing)
            if case .silent = answer {} else {
                _ = withUnsafePointer(to: &peer) { address in
                    address.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket.fd, reply, reply.count, 0, $0, length) }
                }
            }
        }
    }
}

/// A TCP server on its own thread: accepts, reads what the client sends (up to `expectBytes`),
/// writes `reply`, closes; until stopped.
final class TCPServer: @unchecked Sendable {
    let listener: TestSocket
    private let reply: [UInt8]
    private let readBytes: Int
    private let stopping = Atomic<Bool>(false)
    private var thread: ProbeThread?

    init(_ listener: TestSocket, readBytes: Int, reply: [UInt8]) throws {
        self.listener = listener
        self.reply = reply
        self.readBytes = readBytes
        thread = try ProbeThread.start { [self] in serve() }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while !stopping.load(ordering: .acquiring) {
            var entry = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 20) > 0 else { continue }
            let fd = accept(listener.fd, nil, nil)
            guard fd >= 0 else { continue }
            var got = 0
            while got < readBytes {
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 1_000) > 0 else { break }
                let n = recv(fd, &buffer, min(buffer.count, readBytes - got), 0)
                if n <= 0 { break }
                got += n
            }
            _ = send(fd, reply, reply.count, Int32(MSG_NOSIGNAL))
            close(fd)
        }
    }
}

/// The socket descriptors of this process that belong to the calling thread's network
/// namespace (TCP, UDP and netlink sockets), by inode.
///
/// Counting only the namespace's sockets keeps the count immune to other tests running in
/// the same process (their sockets live in other namespaces).
func namespaceSocketDescriptors() throws -> Set<UInt64> {
    var inodes = Set<UInt64>()
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        for line in try readLines("/proc/thread-self/net/\(table)").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > 9, let inode = UInt64(fields[9]), inode != 0 { inodes.insert(inode) }
        }
    }
    for line in try readLines("/proc/thread-self/net/netlink").dropFirst() {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if let last = fields.last, let inode = UInt64(last), inode != 0 { inodes.insert(inode) }
    }
    var mine = Set<UInt64>()
    guard let directory = opendir("/proc/self/fd") else { throw TestSocket.Failure("opendir /proc/self/fd") }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name != ".", name != ".." else { continue }
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
        guard length > 0 else { continue }
        let text = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("socket:["), let inode = UInt64(text.dropFirst(8).dropLast()), inodes.contains(inode) {
            mine.insert(inode)
        }
    }
    return mine
}

private func readLines(_ path: String) throws -> [Substring] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TestSocket.Failure("open \(path)") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        bytes += chunk[..<n]
    }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
}

/// Waits (bounded) until `condition` holds; false on timeout.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
