import CSystemCalls
import SystemPackage

/// `setns(descriptor, CLONE_NEWNET)`: moves the CALLING THREAD into the network namespace the
/// descriptor refers to (a `/proc/PID/ns/net` or `/run/netns/NAME` file). Only a dedicated
/// thread may call it: Swift tasks hop between threads.
public func enterNetworkNamespace(_ descriptor: FileDescriptor) throws(Errno) {
    _ = try systemCall { pp_enter_network_namespace(descriptor.rawValue) }
}

/// Whether `path` is a file of nsfs (a namespace: a bind mount made by `ip netns add`, a
/// `/proc/PID/ns/net` link), with `statfs`.
public func isNamespaceFile(_ path: String) throws(Errno) -> Bool {
    try systemCall { pp_is_namespace_file(path) } == 1
}
