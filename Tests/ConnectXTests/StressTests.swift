#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ConnectX
import SockDiag
import SocketModel
import SystemPackage
import ConnectXTestSupport
import TestSupport

/// Many threads and several processes run UDP ConnectX toward one destination at once, in a
/// range they fill to 75%. Afterwards SOCK_DIAG must show no duplicate 4-tuple, and every
/// socket must receive the datagram sent to its own tuple.
@Suite struct StressTests {
    static let destination = "127.0.0.2:7000"

    struct Load: Sendable, CustomTestStringConvertible {
        var ports: Int
        var threads: Int
        /// Connects per thread; every 4th socket is closed again at once (its port freed).
        var connectsPerThread: Int
        var processes: Int
        var connectsPerProcess: Int
        /// Microseconds a thread may pause between connects (0: back to back).
        var pause: UInt32
        var keptPerThread: Int { connectsPerThread - connectsPerThread / 4 }
        var expected: Int { threads * keptPerThread + processes * connectsPerProcess }
        var testDescription: String { "\(threads) threads, \(processes) processes, \(expected) of \(ports) ports" }

        /// A range of 48 ports, walked whole by every caller from its own start: many claims
        /// of the same port at the same moment.
        static let tight = Load(ports: 48, threads: 4, connectsPerThread: 8, processes: 2, connectsPerProcess: 6, pause: 0)
        /// 300 ports, sampled; the threads' connects spread over the time the children run.
        static let wide = Load(ports: 300, threads: 6, connectsPerThread: 40, processes: 3, connectsPerProcess: 30, pause: 3000)
    }

    /// What one worker thread did.
    final class Worker: @unchecked Sendable {
        var kept: [ConnectedSocket] = []
        var errors: [ConnectXError] = []
        var namespace = ""
        let done = DispatchSemaphore(value: 0)
    }

    @Test(arguments: [Load.tight, Load.wide])
    func concurrentThreadsAndProcessesNeverShareA4Tuple(load: Load) throws {
        let ns = try NetworkNamespace()
        try ns.setPortRange(low: 40000, high: 40000 + load.ports - 1)
        let executable = BuiltProducts.path("portpressure")
        #expect(FileManager.default.isExecutableFile(atPath: executable), "build the portpressure executable first")

        // Processes first: they take longer to start, so their connects overlap the threads'.
        let children = try (0..<load.processes).map { _ in
            try ns.launch([executable, "connect", "--udp", "--count", "\(load.connectsPerProcess)", "--hold", "60", Self.destination])
        }
        defer { children.forEach { $0.stop() } }

        let (server, workers, namespace) = try ns.run { () -> (TestSocket, [Worker], String) in
            let server = try Fixture.bound(.udp, Self.destination)
            let shared = try SockDiagClient()
            let workers = (0..<load.threads).map { _ in Worker() }
            let start = DispatchSemaphore(value: 0)
            for (index, worker) in workers.enumerated() {
                // Threads made here start in this thread's network namespace.
                let thread = Thread {
                    worker.namespace = currentNamespace()
                    // Half share one client (it locks), half open their own per call.
                    let options = ConnectOptions(sockDiag: index % 2 == 0 ? shared : nil)
                    start.wait()
                    for n in 0..<load.connectsPerThread {
                        do throws(ConnectXError) {
                            let socket = try ConnectX.connect(to: ep(Self.destination), protocol: .udp, options: options)
                            if n % 4 == 3 { socket.close() } else { worker.kept.append(socket) }
                        } catch {
                            worker.errors.append(error)
                        }
                        // Time passes on purpose: spreads this thread's connects over the children's run.
                        if load.pause > 0 { usleep(UInt32.random(in: 0...load.pause)) }
                    }
                    worker.done.signal()
                }
                thread.start()
            }
            for _ in workers { start.signal() }
            for worker in workers { _ = worker.done.wait(timeout: .now() + 120) }
            return (server, workers, currentNamespace())
        }

        #expect(workers.allSatisfy { $0.namespace == namespace })
        #expect(workers.flatMap(\.errors).isEmpty, "\(workers.flatMap(\.errors))")
        let threadSockets = workers.flatMap(\.kept)
        #expect(threadSockets.count == load.threads * load.keptPerThread)

        // Every child printed its connections and is holding them.
        var childLocals: [ConnectX.Endpoint] = []
        for child in children {
            _ = child.waitForOutput(timeout: .seconds(60)) { $0.split(separator: "\n").count >= load.connectsPerProcess }
            let lines = child.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == load.connectsPerProcess, "child: \(child.stdout) \(child.stderr)")
            childLocals += lines.compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count == 4 ? ConnectX.Endpoint(parsing: String(fields[1])) : nil
            }
        }
        #expect(childLocals.count == load.processes * load.connectsPerProcess)

        // SOCK_DIAG: every connected socket toward the destination, no 4-tuple twice.
        let (tuples, queues) = try ns.run { () -> ([FourTuple], [UInt16: Int]) in
            var tuples: [FourTuple] = []
            let remote = ep(Self.destination).socketEndpoint
            try SockDiagClient().dump(DumpQuery(proto: .udp, family: .ipv4), restart: { tuples = [] }) { record in
                if record.state == .established && record.remote == remote {
                    tuples.append(FourTuple(local: record.local, remote: record.remote))
                }
            }
            // One datagram to every tuple, from the destination's own socket.
            for tuple in tuples {
                let local = ConnectX.Endpoint(tuple.local)
                let payload = Array(local.description.utf8)
                _ = SocketAddress(local).withSockaddr { sa, length in
                    payload.withUnsafeBytes { sendto(server.fd, $0.baseAddress, $0.count, 0, sa, length) }
                }
            }
            // Nothing announces a datagram's arrival to a socket of another process: poll the
            // namespace's UDP table, bounded, until every tuple's socket has bytes queued.
            var queues: [UInt16: Int] = [:]
            _ = eventually(timeout: .seconds(5)) {
                queues = try receiveQueues(toward: remote)
                return queues.count == tuples.count && queues.values.allSatisfy { $0 > 0 }
            }
            return (tuples, queues)
        }
        #expect(tuples.count == load.expected)
        #expect(Set(tuples).count == tuples.count, "duplicate 4-tuples: \(Dictionary(grouping: tuples, by: { $0 }).filter { $1.count > 1 }.keys)")
        #expect(Set(tuples.map(\.local)) == Set((threadSockets.map(\.local) + childLocals).map(\.socketEndpoint)))

        // Every socket, in this process or a child, has its datagram queued...
        #expect(queues.count == load.expected)
        let empty = queues.filter { $0.value == 0 }.map(\.key).sorted()
        #expect(empty.isEmpty, "sockets that received nothing: \(empty)")
        // ...and the ones here received exactly the datagram naming their own tuple.
        var wrong: [String] = []
        for socket in threadSockets {
            var buffer = [UInt8](repeating: 0, count: 128)
            let count = buffer.withUnsafeMutableBytes { recv(socket.fileDescriptor.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count < 0 || String(decoding: buffer[0..<count], as: UTF8.self) != socket.local.description {
                wrong.append(socket.description)
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
        withExtendedLifetime(server) {}
    }
}

/// The calling thread's network namespace (`net:[4026532...]`).
func currentNamespace() -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    let count = readlink("/proc/thread-self/ns/net", &buffer, buffer.count - 1)
    return count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
}

/// The receive-queue bytes of each UDP socket connected to `remote`, by local port, from
/// `/proc/thread-self/net/udp` (the calling thread's namespace; it lists every process's sockets).
func receiveQueues(toward remote: SocketEndpoint) throws -> [UInt16: Int] {
    let text = try readTextFile("/proc/thread-self/net/udp")
    let want = String(format: "%08X:%04X", UInt32(remote.address.ipv4Value!).byteSwapped, remote.port)
    var queues: [UInt16: Int] = [:]
    for line in text.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        guard fields.count > 4, fields[2] == want else { continue }
        let local = fields[1].split(separator: ":")
        let queue = fields[4].split(separator: ":")
        guard local.count == 2, queue.count == 2, let port = UInt16(local[1], radix: 16),
              let bytes = Int(queue[1], radix: 16) else { continue }
        queues[port, default: 0] += bytes
    }
    return queues
}
