import SystemPackage

/// A socket descriptor with one owner: closed when the owner goes away, unless handed on
/// with `release()`. Being non-copyable, it cannot be closed twice or leaked by a copy on an
/// error path.
struct OwnedSocket: ~Copyable {
    let descriptor: SocketDescriptor

    init(_ descriptor: SocketDescriptor) { self.descriptor = descriptor }

    /// Gives up ownership without closing.
    consuming func release() -> SocketDescriptor {
        let descriptor = self.descriptor
        discard self
        return descriptor
    }

    deinit { try? descriptor.close() }
}
