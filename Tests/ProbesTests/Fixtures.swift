#if canImport(Glibc)
import Glibc
#endif
import ConnectX
@testable import Probes
import SocketModel
import Synchronization
import ConnectXTestSupport
import TestSupport
import Testing

/// Every test of this target, one at a time: the leak test counts descriptors of the
/// process, and the namespace tests time things on a shared two-core machine.
@Suite(.serialized) struct ProbesTests {}

/// Connects new sockets of `proto` to `destination` (bound first to `source` when given)
/// until one fails, at most `limit`; returns them and the failing errno (0 if none failed).
func fill(_ proto: TransportProtocol, toward destination: String, from source: String? = nil,
          bindAddressNoPort: Bool = false, limit: Int = 200) throws -> (sockets: [TestSocket], errno: CInt) {
    var sockets: [TestSocket] = []
    for _ in 0..<limit {
        let socket = try TestSocket(.ipv4, proto)
        if proto == .tcp { try socket.abortOnClose() }
        if bindAddressNoPort { try socket.setOption(CInt(IPPROTO_IP), 24 /* IP_BIND_ADDRESS_NO_PORT */, 1) }
        if let source { try socket.bind(ep(source).socketEndpoint) }
        let error = socket.connectError(destination)
        if error != 0 { return (sockets, error) }
        sockets.append(socket)
    }
    return (sockets, 0)
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
    private let served = Atomic<Int>(0)
    private var loop: ServingLoop?

    /// Serves on `socket` (created by the caller in the namespace).
    init(_ socket: TestSocket, answer: Answer) throws {
        self.socket = socket
        self.answer = answer
        loop = try ServingLoop(socket) { [self] in answerOne() }
    }

    /// Datagrams answered (or ignored, when silent) so far.
    var count: Int { served.load(ordering: .acquiring) }

    func stop() { loop?.stop() }

    private func answerOne() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &peer) { address in
            address.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length) }
        }
        guard count >= 0 else { return }
        var reply = Array(buffer[..<count])
        switch answer {
        case .echo: break
        case .reply(let bytes): reply = bytes
        case .silent: reply = []
        case .overshadow(let shadow):
            let me = socket.local
            let sender = SocketEndpoint(address: IPAddress(ipv4: UInt32(bigEndian: peer.sin_addr.s_addr)), port: UInt16(bigEndian: peer.sin_port))
            try? shadow.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            try? shadow.bind(sender)
            _ = shadow.connectError(me.description)
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

/// A TCP server on its own thread: accepts, reads what the client sends (up to `expectBytes`),
/// writes `reply`, closes; until stopped.
final class TCPServer: @unchecked Sendable {
    let listener: TestSocket
    private let reply: [UInt8]
    private let readBytes: Int
    private var loop: ServingLoop?

    init(_ listener: TestSocket, readBytes: Int, reply: [UInt8]) throws {
        self.listener = listener
        self.reply = reply
        self.readBytes = readBytes
        loop = try ServingLoop(listener) { [self] in answerOne() }
    }

    func stop() { loop?.stop() }

    private func answerOne() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let fd = accept(listener.fd, nil, nil)
        guard fd >= 0 else { return }
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

/// Runs `handle` on a thread of its own each time `socket` is readable, until stopped. Every
/// 20 ms the loop looks whether it should stop: a bound on how long stop() takes, not an order.
final class ServingLoop: @unchecked Sendable {
    private let stopping = Atomic<Bool>(false)
    private var thread: ProbeThread?

    init(_ socket: TestSocket, _ handle: @escaping @Sendable () -> Void) throws {
        let fd = socket.fd
        thread = try ProbeThread.start { [self] in
            while !stopping.load(ordering: .acquiring) {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&entry, 1, 20) > 0 { handle() }
            }
        }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
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
        for line in try readTextFile("/proc/thread-self/net/\(table)").split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > 9, let inode = UInt64(fields[9]), inode != 0 { inodes.insert(inode) }
        }
    }
    for line in try readTextFile("/proc/thread-self/net/netlink").split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if let last = fields.last, let inode = UInt64(last), inode != 0 { inodes.insert(inode) }
    }
    var mine = Set<UInt64>()
    guard let directory = opendir("/proc/self/fd") else { throw SocketFailure("opendir /proc/self/fd") }
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
