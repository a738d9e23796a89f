/// What the request logic (`SockDiagRequests`) needs from a netlink socket; `NetlinkSession`
/// is the real one, tests script their own to drive retries and failures the kernel will not
/// produce on demand.
package protocol NetlinkTransport: ~Copyable {
    /// Our netlink port id, which replies carry.
    var portID: UInt32 { get }
    mutating func nextSequence() -> UInt32
    mutating func send(_ request: [UInt8]) throws(SockDiagError)
    /// One datagram, valid until the next call.
    mutating func receive() throws(SockDiagError) -> UnsafeRawBufferPointer
    /// The current reply was not read to its end; clear it before the next request.
    mutating func abandonReply()
}
