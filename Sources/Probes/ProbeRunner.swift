import ConnectX
import NetworkNamespaces
import SockDiag
import Synchronization
import SystemCalls
import SocketModel
import SystemPackage

/// Runs one probe: resolve the target, connect with ConnectX (or plain `bind` + `connect`),
/// check a UDP socket receives its own 4-tuple, send and check the reply, close.
///
/// A run never outlives the probe's timeout: resolution, the handshake, the send and the wait
/// for the reply all share one deadline. Every socket is closed before `run` returns.
/// Sockets are created in the calling thread's network namespace, or, for a probe with `netns`,
/// on a thread of its own that enters that namespace first (and ends with the run, so nothing
/// else ever runs there).
public struct ProbeRunner: Sendable {
    /// The SOCK_DIAG client for UDP (ConnectX's port search and the overshadowing check).
    /// It must belong to the network namespace the probes run in; nil opens one per UDP run.
    public var sockDiag: SockDiagClient?
    /// The largest reply read (a datagram beyond it is truncated; `expect` is a prefix).
    static let replyCapacity = 65_536

    public init(sockDiag: SockDiagClient? = nil) {
        self.sockDiag = sockDiag
    }

    public func run(_ probe: ProbeDefinition) -> ProbeResult {
        if let netns = probe.netns { return run(probe, inside: netns) }
        let start = ContinuousClock.now
        var run = Run(probe: probe, deadline: start + probe.timeout)
        let failure = run.perform(sockDiag: sockDiag)
        return ProbeResult(
            probe: probe.name, failure: failure?.reason, duration: ContinuousClock.now - start,
            local: run.local, remote: run.remote, detail: failure?.detail ?? "", finishedAt: wallClockSeconds())
    }

    /// The probe run on a new thread inside the namespace `netns` names, with a SOCK_DIAG
    /// client made there (the runner's own belongs to the exporter's namespace).
    private func run(_ probe: ProbeDefinition, inside netns: String) -> ProbeResult {
        let start = ContinuousClock.now
        @Sendable func failed(_ detail: String) -> ProbeResult {
            ProbeResult(probe: probe.name, failure: .other, duration: ContinuousClock.now - start,
                        detail: "netns \(netns): \(detail)", finishedAt: wallClockSeconds())
        }
        var inner = probe
        inner.netns = nil
        let here = inner
        let path = NamespaceEntry.Target.path(naming: netns)
        let result = Mutex<ProbeResult?>(nil)
        do {
            let thread = try ProbeThread.start {
                do {
                    let file = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
                    defer { try? file.close() }
                    try enterNetworkNamespace(file)
                } catch {
                    result.withLock { $0 = failed("cannot enter \(path): \(error)") }
                    return
                }
                let outcome = ProbeRunner(sockDiag: nil).run(here)
                result.withLock { $0 = outcome }
            }
            thread.join()
        } catch {
            return failed("cannot start the probe's thread: \(error)")
        }
        return result.withLock { $0 } ?? failed("the probe's thread returned nothing")
    }
}

/// One run's state, so each step is a small method.
private struct Run {
    struct Failure: Error {
        var reason: ProbeFailureReason
        var detail: String
    }

    let probe: ProbeDefinition
    let deadline: ContinuousClock.Instant
    var local: ConnectX.Endpoint?
    var remote: ConnectX.Endpoint?

    init(probe: ProbeDefinition, deadline: ContinuousClock.Instant) {
        self.probe = probe
        self.deadline = deadline
    }

    mutating func perform(sockDiag: SockDiagClient?) -> Failure? {
        do throws(Failure) {
            let remote = try resolve()
            self.remote = remote
            var client = sockDiag
            if probe.proto == .udp && client == nil {
                do { client = try SockDiagClient() } catch {
                    throw Failure(reason: .other, detail: "cannot open a SOCK_DIAG socket: \(error)")
                }
            }
            let socket = try connect(remote, client)
            defer { socket.close() }
            local = socket.local
            if probe.proto == .udp, let client { try checkReceives(socket, client) }
            try exchange(socket, client)
            return nil
        } catch {
            return error
        }
    }

    func resolve() throws(Failure) -> ConnectX.Endpoint {
        do {
            return try TargetResolver.resolve(probe.target, family: probe.source?.address.family, deadline: deadline)
        } catch {
            switch error {
            case .timedOut: throw Failure(reason: .etimedout, detail: "resolving \(probe.target.host) took longer than the timeout")
            case .failed(let why): throw Failure(reason: .other, detail: why)
            }
        }
    }

    func connect(_ remote: ConnectX.Endpoint, _ client: SockDiagClient?) throws(Failure) -> ConnectedSocket {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw Failure(reason: .etimedout, detail: "no time left to connect") }
        let options = ConnectOptions(method: probe.method, timeout: remaining, sockDiag: client)
        do {
            return try ConnectX.connect(to: remote, from: probe.source, protocol: probe.proto, options: options)
        } catch {
            throw Failure(reason: ProbeFailureReason(errno: error.errno), detail: error.description)
        }
    }

    /// UDP: the socket the kernel delivers the target's datagrams to must be ours; a newer
    /// socket on the same 4-tuple would take every reply.
    func checkReceives(_ socket: ConnectedSocket, _ client: SockDiagClient) throws(Failure) {
        if let holder = try receiver(socket, client) {
            throw Failure(reason: .overshadowed,
                          detail: "\(socket.local) -> \(socket.remote) is delivered to another socket (uid \(holder.uid), inode \(holder.inode))")
        }
    }

    /// The socket receiving `socket`'s 4-tuple when it is not `socket` itself; nil when it is.
    func receiver(_ socket: ConnectedSocket, _ client: SockDiagClient) throws(Failure) -> SocketRecord? {
        let ours: UInt64
        do { ours = try ProbeIO.cookie(socket.fileDescriptor.rawValue) } catch {
            throw Failure(reason: .other, detail: "getsockopt(SO_COOKIE): \(error)")
        }
        let found: SocketRecord?
        do {
            found = try client.lookup(proto: .udp, local: socket.local.socketEndpoint, remote: socket.remote.socketEndpoint,
                                      interfaceIndex: socket.local.scopeID)
        } catch {
            throw Failure(reason: .other, detail: "SOCK_DIAG lookup of \(socket.local) -> \(socket.remote): \(error)")
        }
        guard let found else {
            throw Failure(reason: .other, detail: "SOCK_DIAG finds no socket for \(socket.local) -> \(socket.remote)")
        }
        return found.cookie == ours ? nil : found
    }

    /// Sends `send`, then reads and checks the reply when `expect` is given.
    func exchange(_ socket: ConnectedSocket, _ client: SockDiagClient?) throws(Failure) {
        let fd = socket.fileDescriptor.rawValue
        if let send = probe.send {
            do { try ProbeIO.sendAll(fd, send, deadline: deadline) } catch {
                throw Failure(reason: ProbeFailureReason(errno: error), detail: "send: \(ErrnoText.name(error)): \(error)")
            }
        }
        guard let expect = probe.expect else { return }
        let reply: [UInt8]
        do {
            reply = try probe.proto == .udp ? receiveDatagram(fd) : receiveStream(fd, wanted: max(expect.count, 1), expect: expect)
        } catch {
            if error == .timedOut, probe.proto == .udp, let client, let holder = try receiver(socket, client) {
                throw Failure(reason: .overshadowed,
                              detail: "no reply: \(socket.local) -> \(socket.remote) is now delivered to another socket (uid \(holder.uid), inode \(holder.inode))")
            }
            let what = error == .timedOut ? "no reply within the timeout" : "receive: \(ErrnoText.name(error)): \(error)"
            throw Failure(reason: ProbeFailureReason(errno: error), detail: what)
        }
        guard reply.starts(with: expect), !(probe.proto == .tcp && reply.isEmpty) else {
            let got = reply.isEmpty ? "the peer closed the connection without a reply" : "got \(Self.show(reply))"
            throw Failure(reason: .unexpectedReply, detail: "\(got), expected \(Self.show(expect)) first")
        }
    }

    /// One datagram.
    func receiveDatagram(_ fd: CInt) throws(Errno) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ProbeRunner.replyCapacity, alignment: 1)
        defer { buffer.deallocate() }
        let count = try ProbeIO.receive(fd, into: buffer, deadline: deadline)
        return Array(buffer[..<count])
    }

    /// The stream's first `wanted` bytes, or fewer if the peer closes first or they already
    /// differ from `expect`.
    func receiveStream(_ fd: CInt, wanted: Int, expect: [UInt8]) throws(Errno) -> [UInt8] {
        var reply: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(wanted, 4_096), alignment: 1)
        defer { buffer.deallocate() }
        while reply.count < wanted {
            let room = UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(buffer.count, wanted - reply.count)])
            let count = try ProbeIO.receive(fd, into: room, deadline: deadline)
            if count == 0 { break }
            reply += buffer[..<count]
            if !expect.starts(with: reply.prefix(expect.count)) { break }
        }
        return reply
    }

    /// Up to 32 bytes: as text when printable ASCII, else as hex.
    static func show(_ bytes: [UInt8]) -> String {
        let head = Array(bytes.prefix(32))
        let more = bytes.count > head.count ? "… (\(bytes.count) bytes)" : ""
        if head.allSatisfy({ (0x20...0x7e).contains($0) }) {
            return String(decoding: head, as: UTF8.self).debugDescription + more
        }
        return "hex " + Hex.encode(head) + more
    }
}

/// C names of errnos for messages.
enum ErrnoText {
    static func name(_ errno: Errno) -> String {
        switch errno {
        case .addressNotAvailable: "EADDRNOTAVAIL"
        case .addressInUse: "EADDRINUSE"
        case .resourceTemporarilyUnavailable: "EAGAIN"
        case .connectionRefused: "ECONNREFUSED"
        case .connectionReset: "ECONNRESET"
        case .timedOut: "ETIMEDOUT"
        case .noRouteToHost: "EHOSTUNREACH"
        case .networkUnreachable: "ENETUNREACH"
        case .brokenPipe: "EPIPE"
        case .messageTooLong: "EMSGSIZE"
        default: "errno \(errno.rawValue)"
        }
    }
}
