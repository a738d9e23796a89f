#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SockDiag
import SocketModel
import Synchronization
import SystemCalls
import SystemPackage

/// The namespace's ephemeral range, read fresh on every call for the price of two `pread(2)`s
/// on files kept open (where `EphemeralRangeReader` opens and reads them whole each time).
///
/// `EphemeralRangeReader.current()` opens, reads and closes both files and parses them: about
/// 13 µs, a third of a whole UDP connectx at low occupancy. A file under `/proc/sys/net`,
/// once open, shows its namespace's *current* value to every `pread` from offset 0. So a
/// reader keeps both files open, reads them again on every call (a change is seen at once),
/// and parses only when the bytes differ from the last read.
///
/// The kernel allocates and zeroes a buffer of the size asked for on every read of a sysctl
/// file: asking for 64 KiB cost ~2.4 µs of CPU per read here, 256 bytes ~0.7 µs. So the buffer is as
/// small as the text, grown (and the file read again) whenever a read fills it.
///
/// The files show the namespace of the thread that opened them. A reader is kept per
/// `SockDiagClient`, whose netlink socket is fixed to one namespace and which callers must
/// use from that namespace anyway; it opens the files on first use, from such a thread.
final class KeptOpenRangeReader: Sendable {
    private struct Cache {
        var buffer = [UInt8](repeating: 0, count: KeptOpenRangeReader.initialBufferSize)
        var rangeText: [UInt8] = []
        var reservedText: [UInt8] = []
        var parsed: EphemeralRange?
    }

    /// Larger than any `ip_local_port_range` and than a short reserved list.
    static let initialBufferSize = 256
    /// Larger than the longest reserved list (every other port: ~330 KiB of text).
    static let maximumBufferSize = 1 << 20

    private let range: FileDescriptor
    private let reserved: FileDescriptor
    private let cache = Mutex(Cache())

    /// Opens both files in the calling thread's network namespace.
    init() throws(ConnectXError) {
        do {
            range = try FileDescriptor.open(EphemeralRangeReader.portRangePath, .readOnly, options: [.closeOnExec])
        } catch {
            throw ConnectXError(step: .portRange, errno: error as? Errno ?? .ioError, detail: EphemeralRangeReader.portRangePath)
        }
        do {
            reserved = try FileDescriptor.open(EphemeralRangeReader.reservedPortsPath, .readOnly, options: [.closeOnExec])
        } catch {
            try? range.close()
            throw ConnectXError(step: .portRange, errno: error as? Errno ?? .ioError, detail: EphemeralRangeReader.reservedPortsPath)
        }
    }

    deinit {
        try? range.close()
        try? reserved.close()
    }

    /// `ip_local_port_range` minus `ip_local_reserved_ports`, as the kernel shows them now.
    func current() throws(ConnectXError) -> EphemeralRange {
        try cache.withLock { (cache: inout Cache) throws(ConnectXError) -> EphemeralRange in
            let rangeCount = try Self.read(range, into: &cache.buffer, path: EphemeralRangeReader.portRangePath)
            let rangeChanged = !cache.buffer[0..<rangeCount].elementsEqual(cache.rangeText)
            if rangeChanged { cache.rangeText = Array(cache.buffer[0..<rangeCount]) }
            let reservedCount = try Self.read(reserved, into: &cache.buffer, path: EphemeralRangeReader.reservedPortsPath)
            let reservedChanged = !cache.buffer[0..<reservedCount].elementsEqual(cache.reservedText)
            if reservedChanged { cache.reservedText = Array(cache.buffer[0..<reservedCount]) }
            if let parsed = cache.parsed, !rangeChanged, !reservedChanged { return parsed }
            do throws(EphemeralRangeError) {
                let parsed = try EphemeralRange.parse(
                    portRange: String(decoding: cache.rangeText, as: UTF8.self),
                    reservedPorts: String(decoding: cache.reservedText, as: UTF8.self))
                cache.parsed = parsed
                return parsed
            } catch {
                cache.parsed = nil
                throw ConnectXError(range: error)
            }
        }
    }

    /// `pread(2)` from offset 0: the sysctl's text as of now. A read that fills the buffer may
    /// have been cut short: the buffer grows and the file is read again.
    private static func read(_ file: FileDescriptor, into buffer: inout [UInt8], path: String) throws(ConnectXError) -> Int {
        while true {
            let result = buffer.withUnsafeMutableBytes { bytes in
                Result { () throws(Errno) in try systemCall { pread(file.rawValue, bytes.baseAddress, bytes.count, 0) } }
            }
            switch result {
            case .success(let count) where count == buffer.count:
                guard buffer.count < maximumBufferSize else {
                    throw ConnectXError(step: .portRange, errno: .fileTooLarge, detail: "\(path) is longer than \(maximumBufferSize) bytes")
                }
                buffer = [UInt8](repeating: 0, count: buffer.count * 4)
            case .success(let count): return count
            case .failure(let error): throw ConnectXError(step: .portRange, errno: error, detail: path)
            }
        }
    }

    // MARK: One reader per client

    private struct Entry {
        weak var client: SockDiagClient?
        let reader: KeptOpenRangeReader
    }

    private static let readers = Mutex<[Entry]>([])

    /// The reader kept for `client`, opened now (in the calling thread's namespace) if new.
    static func reader(for client: SockDiagClient) throws(ConnectXError) -> KeptOpenRangeReader {
        try readers.withLock { (entries: inout [Entry]) throws(ConnectXError) -> KeptOpenRangeReader in
            if let entry = entries.first(where: { $0.client === client }) { return entry.reader }
            entries.removeAll { $0.client == nil }
            let reader = try KeptOpenRangeReader()
            entries.append(Entry(client: client, reader: reader))
            return reader
        }
    }
}
