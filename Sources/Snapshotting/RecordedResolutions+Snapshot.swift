import PortPressure
import SockDiag

// The one mapping between the snapshot's resolution hooks and what a recording keeps, used by
// the live pipeline (which records) and by replay (which answers from the recording).

extension ExactLookup {
    /// The lookup that says which socket of `duplicate` receives: UDP, its 4-tuple, and the
    /// interface of its first socket (which scopes a link-local address).
    init(receiverOf duplicate: UDPDuplicate) {
        self.init(proto: .udp, local: duplicate.local, remote: duplicate.remote,
                  interfaceIndex: duplicate.sockets.first?.interfaceIndex ?? 0)
    }
}

extension ReceiverLookup {
    init(_ answer: LookupAnswer) {
        switch answer {
        case let .socket(cookie): self = .socket(cookie: cookie)
        case .noSocket: self = .noSocket
        case let .failed(reason): self = .failed(reason)
        }
    }
}
