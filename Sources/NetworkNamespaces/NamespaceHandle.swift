#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SockDiag
import SystemCalls
import SocketModel
import SystemPackage

/// What collection needs of one network namespace, made once inside it and usable from any
/// thread afterwards: a SOCK_DIAG socket and open kernel files. A socket and an open
/// `/proc/sys` or `/proc/<tid>/net` file stay bound to the namespace they were made in and
/// show its current state at every read, so no later read needs `setns`.
///
/// Holding a handle holds the namespace (it outlives its processes and bind mounts while the
/// handle lives), so `NamespaceHandles` drops it as soon as discovery no longer finds it.
public final class NamespaceHandle: Sendable {
    public let id: NamespaceID
    /// Dumps, counts and lookups of the namespace's sockets.
    public let sockDiag: SockDiagClient
    private let portRange: FileDescriptor
    private let reservedPorts: FileDescriptor
    private let sockstat: FileDescriptor
    private let sockstat6: FileDescriptor
    /// `KernelSettings.names` the kernel has, each with its open file.
    private let settings: [KeptSetting]

    private struct KeptSetting: Sendable {
        let name: String
        let file: FileDescriptor
    }

    /// The namespace's socket counts, opened on the entering thread (thread-self, not self:
    /// `/proc/self/net` is the main thread's namespace).
    static let sockstatPath = "/proc/thread-self/net/sockstat"
    static let sockstat6Path = "/proc/thread-self/net/sockstat6"

    /// Makes the handle in the calling thread's namespace, which must be `id`: call it on the
    /// entering thread only (`NamespaceEntry`).
    init(madeHereFor id: NamespaceID) throws(NamespaceError) {
        var opened: [FileDescriptor] = []
        func open(_ path: String) throws(NamespaceError) -> FileDescriptor {
            do {
                let file = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
                opened.append(file)
                return file
            } catch {
                throw .file(path: path, errno: error as? Errno ?? .ioError)
            }
        }
        do throws(NamespaceError) {
            self.id = id
            portRange = try open(EphemeralRangeReader.portRangePath)
            reservedPorts = try open(EphemeralRangeReader.reservedPortsPath)
            sockstat = try open(Self.sockstatPath)
            sockstat6 = try open(Self.sockstat6Path)
            var settings: [KeptSetting] = []
            for name in KernelSettings.names {
                // A setting this kernel lacks is left out, as KernelSettings.current does.
                guard let file = try? open(KernelSettings.path(of: name)) else { continue }
                settings.append(KeptSetting(name: name, file: file))
            }
            self.settings = settings
            do { sockDiag = try SockDiagClient() } catch { throw NamespaceError.sockDiag(error) }
        } catch {
            for file in opened { try? file.close() }
            throw error
        }
    }

    deinit {
        for file in [portRange, reservedPorts, sockstat, sockstat6] + settings.map(\.file) { try? file.close() }
    }

    /// The namespace's effective ephemeral range as of now.
    public func range() throws(NamespaceError) -> EphemeralRange {
        let range = try text(portRange, EphemeralRangeReader.portRangePath)
        let reserved = try text(reservedPorts, EphemeralRangeReader.reservedPortsPath)
        do {
            return try EphemeralRange.parse(portRange: range, reservedPorts: reserved)
        } catch {
            throw .malformed(path: EphemeralRangeReader.portRangePath, reason: error.description)
        }
    }

    /// The namespace's `KernelSettings`, as of now; unreadable ones left out.
    public func kernelSettings() -> [KernelSetting] {
        settings.compactMap { setting in
            guard let text = try? WholeFile.text(setting.file), let value = KernelSettings.value(text) else { return nil }
            return KernelSetting(name: setting.name, value: value)
        }
    }

    /// The namespace's socket counts as of now (two small reads, whatever its size).
    public func socketCounts() throws(NamespaceError) -> SocketCounts {
        let v4 = try text(sockstat, Self.sockstatPath)
        let v6 = try text(sockstat6, Self.sockstat6Path)
        do {
            return try SocketCounts.parse(sockstat: v4, sockstat6: v6)
        } catch {
            throw .malformed(path: Self.sockstatPath, reason: error.description)
        }
    }

    private func text(_ file: FileDescriptor, _ path: String) throws(NamespaceError) -> String {
        do { return try WholeFile.text(file) } catch { throw .file(path: path, errno: error) }
    }
}
