import SystemCalls
import SocketModel
import Synchronization
import SystemPackage

/// Writes the raw netlink datagrams of dumps to a file, as received, in the container format
/// documented on `DumpRecordingFormat` (it adds the protocol and family, which the datagrams
/// do not carry). `DumpReplay` parses such a file into the same visitor as a live dump.
///
/// Pass it to `SockDiagClient.dump(_:recorder:restart:visit:)`; several dumps (and retries)
/// can go to one recorder. Thread-safe.
public final class DumpRecorder: Sendable {
    public let path: String
    /// The file and what the trailer will say of it, under one lock: a frame is counted in the
    /// same critical section that writes it, and the trailer and the close happen in one.
    private let state: Mutex<State>

    private struct State {
        /// nil once closed.
        var descriptor: FileDescriptor?
        /// Frames and dump frames written, and bytes written: what the trailer says.
        var frames = 0
        var dumps = 0
        var bytes = 0

        /// Writes a frame (or the file header, `counts: false`, which is no frame) and counts it.
        mutating func write(_ header: [UInt8], payload: UnsafeRawBufferPointer?, counts: Bool) throws(Errno) {
            guard let descriptor else { throw .badFileDescriptor }
            do {
                _ = try header.withUnsafeBytes { try descriptor.writeAll($0) }
                if let payload { _ = try descriptor.writeAll(payload) }
            } catch {
                throw error as? Errno ?? .ioError
            }
            bytes += header.count + (payload?.count ?? 0)
            if counts {
                frames += 1
                if header.first == DumpRecordingFormat.kindDump { dumps += 1 }
            }
        }
    }

    /// Creates (or truncates) `path` and writes the file header.
    public init(path: String) throws(SockDiagError) {
        self.path = path
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(
                path, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead]
            )
        } catch {
            throw .system(operation: "open \(path)", errno: error as? Errno ?? .ioError)
        }
        state = Mutex(State(descriptor: descriptor))
        try write(DumpRecordingFormat.fileHeader(), payload: nil, counts: false)
    }

    deinit {
        state.withLock { state in try? state.descriptor?.close() }
    }

    /// Writes the trailer that makes the recording whole and closes the file; later writes
    /// fail with EBADF. A recording whose recorder was not closed has no trailer, and replay
    /// refuses it.
    public func close() throws(SockDiagError) {
        let result: Result<Void, SockDiagError> = state.withLock { state in
            guard let descriptor = state.descriptor else { return .success(()) }
            do throws(Errno) {
                try state.write(DumpRecordingFormat.trailer(frames: state.frames, dumps: state.dumps, offset: state.bytes), payload: nil, counts: false)
            } catch {
                return .failure(.system(operation: "write \(path)", errno: error))
            }
            state.descriptor = nil
            do { try descriptor.close() } catch { return .failure(.system(operation: "close \(path)", errno: error as? Errno ?? .ioError)) }
            return .success(())
        }
        try result.get()
    }

    /// Marks everything recorded so far as void: the dumps start over (after an interrupted
    /// dump, or a request the kernel refused), and a replay analyzes only what follows.
    public func restart() throws(SockDiagError) {
        try write(DumpRecordingFormat.frameHeader(kind: DumpRecordingFormat.kindRestart, proto: .tcp, family: nil, length: 0), payload: nil)
    }

    func beginDump(proto: TransportProtocol, family: AddressFamily?) throws(SockDiagError) {
        try write(DumpRecordingFormat.frameHeader(kind: DumpRecordingFormat.kindDump, proto: proto, family: family, length: 0), payload: nil)
    }

    func record(_ datagram: UnsafeRawBufferPointer, proto: TransportProtocol, family: AddressFamily?) throws(SockDiagError) {
        let header = DumpRecordingFormat.frameHeader(
            kind: DumpRecordingFormat.kindDatagram, proto: proto, family: family, length: datagram.count
        )
        try write(header, payload: datagram)
    }

    /// Records what an exact lookup made after the dumps came back with, so that a replay
    /// answers it the same (which socket of a duplicate UDP 4-tuple receives).
    public func record(_ lookup: ExactLookup, answer: LookupAnswer) throws(SockDiagError) {
        guard let frame = DumpRecordingFormat.lookupFrame(lookup, answer) else {
            throw .malformed("lookup \(lookup) cannot be recorded (endpoints of two families, or a reason over \(DumpRecordingFormat.maximumText) bytes)")
        }
        try write(frame, payload: nil)
    }

    /// Records a cgroup id resolved after the dumps (nil: unknown), so that a replay shows the
    /// same path.
    public func recordCgroup(id: UInt64, path: String?) throws(SockDiagError) {
        guard let frame = DumpRecordingFormat.cgroupFrame(id: id, path: path) else {
            throw .malformed("cgroup path of id \(id) over \(DumpRecordingFormat.maximumText) bytes cannot be recorded")
        }
        try write(frame, payload: nil)
    }

    /// Writes a frame (or the file header, `counts: false`, which is no frame) and counts it.
    private func write(_ header: [UInt8], payload: UnsafeRawBufferPointer?, counts: Bool = true) throws(SockDiagError) {
        do {
            try state.withLock { (state) throws(Errno) in try state.write(header, payload: payload, counts: counts) }
        } catch {
            throw .system(operation: "write \(path)", errno: error)
        }
    }
}

/// What a replay gives besides the sockets it visits.
public struct ReplayedRecording: Sendable, Equatable {
    /// The statistics the live dump returned.
    public var statistics: DumpStatistics
    /// The lookup answers and cgroup paths the live pipeline resolved after its dumps.
    public var resolutions: RecordedResolutions
}

/// Parses recordings made by `DumpRecorder`, through the same parser as live dumps.
public enum DumpReplay {
    /// Replays the file at `path`: `visit` sees every socket of the dumps after the last
    /// restart frame (what the live visitor kept); the statistics are those the live dump
    /// returned. Throws `.dumpInterrupted` when the last dump was interrupted and no restart
    /// follows (the live dump gave up).
    @discardableResult
    public static func replay(fileAt path: String, visit: (SocketRecord) -> Void) throws(SockDiagError) -> ReplayedRecording {
        let bytes = try readWholeFile(path)
        return try replay(bytes: bytes, visit: visit)
    }

    /// Replays a recording held in memory.
    @discardableResult
    public static func replay(bytes: [UInt8], visit: (SocketRecord) -> Void) throws(SockDiagError) -> ReplayedRecording {
        let result: Result<DumpRecordingFormat.Summary, WireError> = bytes.withUnsafeBytes { buffer in
            do throws(WireError) {
                return .success(try DumpRecordingFormat.replay(buffer, visit: visit))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case let .success(summary):
            if summary.endsInterrupted { throw .dumpInterrupted(attempts: summary.statistics.retries + 1) }
            return ReplayedRecording(statistics: summary.statistics, resolutions: summary.resolutions)
        case let .failure(error):
            throw SockDiagError(error, request: "replay")
        }
    }

    static func readWholeFile(_ path: String) throws(SockDiagError) -> [UInt8] {
        do {
            return try WholeFile.read(path, limit: 1 << 30)
        } catch {
            throw .system(operation: "read \(path)", errno: error)
        }
    }
}
