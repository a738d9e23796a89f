#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMnl
import SocketModel
import SystemCalls
import SystemPackage

/// One `NETLINK_SOCK_DIAG` socket (libmnl), its receive buffer and its sequence numbers.
/// Not thread-safe: `SockDiagClient` keeps it behind a lock. The socket belongs to the network
/// namespace of the thread that created it, wherever it is used afterwards.
struct NetlinkSession: NetlinkTransport, ~Copyable {
    /// libmnl's `MNL_SOCKET_BUFFER_SIZE` is min(page size, 8 KiB); a dump fills up to 32 KiB
    /// per datagram (the kernel's cap), so a smaller buffer would truncate messages.
    static let receiveBufferSize = 32 * 1024
    /// How long one receive may wait for the kernel before failing with `EAGAIN`.
    static let receiveTimeoutSeconds = 10
    /// Upper bound on datagrams read by one request, so a misbehaving peer cannot loop us forever.
    static let maximumDatagrams = 1 << 24

    private let socket: OpaquePointer  // struct mnl_socket *
    let portID: UInt32
    private let buffer: UnsafeMutableRawBufferPointer
    private var sequence: UInt32
    /// A request ended early: the rest of its reply may still be queued and must be read first.
    private var needsDrain = false

    /// `mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC)`, `mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)`.
    init() throws(SockDiagError) {
        guard let socket = mnl_socket_open2(NETLINK_SOCK_DIAG, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw .system(operation: "socket(AF_NETLINK, NETLINK_SOCK_DIAG)", errno: Errno(rawValue: errno))
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let code = errno
            mnl_socket_close(socket)
            throw .system(operation: "bind(AF_NETLINK)", errno: Errno(rawValue: code))
        }
        var timeout = timeval(tv_sec: Self.receiveTimeoutSeconds, tv_usec: 0)
        if setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) != 0 {
            let code = errno
            mnl_socket_close(socket)
            throw .system(operation: "setsockopt(SO_RCVTIMEO)", errno: Errno(rawValue: code))
        }
        self.socket = socket
        self.portID = mnl_socket_get_portid(socket)
        self.buffer = .allocate(byteCount: Self.receiveBufferSize, alignment: 8)
        // Distinct starting points keep replies of different clients apart in traces.
        self.sequence = UInt32(truncatingIfNeeded: time(nil))
    }

    deinit {
        mnl_socket_close(socket)
        buffer.deallocate()
    }

    mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    /// Marks the socket as holding leftovers of an abandoned reply.
    mutating func abandonReply() { needsDrain = true }

    /// `mnl_socket_sendto`, after reading away what an abandoned request left queued.
    mutating func send(_ request: [UInt8]) throws(SockDiagError) {
        if needsDrain { drain() }
        let result = request.withUnsafeBytes { bytes in
            Result { () throws(Errno) in try systemCall { mnl_socket_sendto(socket, bytes.baseAddress, bytes.count) } }
        }
        switch result {
        case let .success(sent) where sent == request.count:
            return
        case .success:
            throw .system(operation: "sendto(NETLINK_SOCK_DIAG): short write", errno: .ioError)
        case let .failure(errno):
            throw .system(operation: "sendto(NETLINK_SOCK_DIAG)", errno: errno)
        }
    }

    /// `mnl_socket_recvfrom` into the session's buffer: one datagram, valid until the next call.
    /// `ENOSPC` means a datagram was larger than the buffer (truncated).
    func receive() throws(SockDiagError) -> UnsafeRawBufferPointer {
        do {
            let count = try systemCall { mnl_socket_recvfrom(socket, buffer.baseAddress, buffer.count) }
            return UnsafeRawBufferPointer(rebasing: buffer[0..<Int(count)])
        } catch {
            throw .system(operation: "recvfrom(NETLINK_SOCK_DIAG)", errno: error)
        }
    }

    /// Reads without waiting until nothing is queued: the kernel produces the rest of an
    /// abandoned dump as it is read, then the queue runs dry (`EAGAIN`).
    private mutating func drain() {
        let fd = mnl_socket_get_fd(socket)
        for _ in 0..<Self.maximumDatagrams {
            let result = Result { () throws(Errno) in try systemCall { recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT)) } }
            switch result {
            case let .success(count) where count > 0: continue
            case .failure(.noBufferSpace): continue  // an overflow report; keep reading
            default: break
            }
            break
        }
        needsDrain = false
    }
}
