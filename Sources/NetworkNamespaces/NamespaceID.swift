/// A network namespace, as the kernel names it: the device and inode of its nsfs file
/// (`stat -L /proc/PID/ns/net`). Two paths show the same namespace exactly when both match.
///
/// While something holds the namespace (a process, a bind mount, an open socket or file) its
/// inode is not reused, so a handle kept for an id stays that namespace's.
public struct NamespaceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// The inode in decimal: the value of the `netns` label (`ip netns identify`, `lsns` and
    /// `readlink /proc/PID/ns/net` show the same number).
    public var description: String { String(inode) }

    public static func < (a: NamespaceID, b: NamespaceID) -> Bool {
        (a.inode, a.device) < (b.inode, b.device)
    }
}
