#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
import SockDiag

/// `DumpRecorder` says it is thread-safe: frames written from other threads while it closes
/// either land before the trailer (and are counted by it) or fail with EBADF, so the recording
/// is whole whatever the interleaving.
@Suite struct RecorderConcurrencyTests {
    @Test func writesRacingCloseLeaveAWholeRecording() throws {
        let writers = 2
        let writesPerWriter = 20_000
        // Several rounds: one interleaving may miss the window a split lock leaves open.
        for round in 0..<40 {
            let path = temporaryPath("race-\(round).ppsd")
            defer { unlink(path) }
            let recorder = try DumpRecorder(path: path)
            let running = DispatchSemaphore(value: 0)
            let finished = DispatchGroup()
            let outcomes = Mutex<(written: Int, refusals: [SockDiagError])>((0, []))
            for writer in 0..<writers {
                finished.enter()
                Thread.detachNewThread {
                    defer { finished.leave() }
                    var written = 0
                    var refusal: SockDiagError?
                    var signalled = false
                    for index in 0..<writesPerWriter {
                        do throws(SockDiagError) {
                            try recorder.recordCgroup(id: UInt64(writer * writesPerWriter + index), path: nil)
                            written += 1
                        } catch {
                            refusal = error
                            break
                        }
                        if !signalled { running.signal(); signalled = true }
                    }
                    if !signalled { running.signal() }
                    outcomes.withLock { outcome in
                        outcome.written += written
                        if let refusal { outcome.refusals.append(refusal) }
                    }
                }
            }
            // Close once every writer has written a frame, while they go on writing.
            for _ in 0..<writers { running.wait() }
            try recorder.close()
            finished.wait()

            let (written, refusals) = outcomes.withLock { $0 }
            #expect(refusals.allSatisfy { $0 == .system(operation: "write \(path)", errno: .badFileDescriptor) })
            let replayed = try DumpReplay.replay(fileAt: path) { _ in }
            #expect(replayed.resolutions.cgroupPaths.count == written)
        }
    }
}
