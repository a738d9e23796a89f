import SocketModel

/// Compiles a `SocketFilter` to an inet_diag bytecode program (the payload of
/// `INET_DIAG_REQ_BYTECODE`), the way `ss` turns its filter expressions into
/// `INET_DIAG_BC_*` operations.
///
/// The kernel runs the program per socket: each operation is `{code, yes, no}` (4 bytes, then
/// its arguments). When its condition holds, execution moves `yes` bytes on (always the
/// operation's own length here: fall through); otherwise `no` bytes on. The socket matches
/// when execution lands exactly on the end of the program and is rejected when it jumps past
/// it (to end + 4, the furthest jump the kernel's audit allows). Jumps only go forward and
/// land on operation boundaries, which the kernel's audit checks.
enum FilterBytecode {
    // INET_DIAG_BC_* codes.
    static let nop: UInt8 = 0
    static let jump: UInt8 = 1
    static let sourceCondition: UInt8 = 7       // S_COND: inet_diag_hostcond on the local end
    static let destinationCondition: UInt8 = 8  // D_COND: on the remote end
    static let sourcePortEquals: UInt8 = 11     // S_EQ
    static let destinationPortEquals: UInt8 = 12  // D_EQ

    /// The largest program an attribute can carry (16-bit length including its 4-byte header).
    static let maximumLength = Int(UInt16.max) - NetlinkAttributeCursor.headerSize

    private enum Target: Equatable {
        case label(Int)
        /// Past the end: the socket does not match.
        case reject
    }

    private enum Instruction {
        case portEquals(code: UInt8, port: UInt16, onFalse: Target)
        case host(code: UInt8, address: IPAddress, onFalse: Target)
        case jump(Target)
        case nop

        var length: Int {
            switch self {
            case .portEquals: 8
            case let .host(_, address, _): 4 + 8 + (address.family == .ipv4 ? 4 : 16)
            case .jump, .nop: 4
            }
        }
    }

    private struct Assembler {
        var instructions: [Instruction] = []
        /// For each label, the index of the instruction it stands before.
        var labels: [Int] = []

        mutating func newLabel() -> Int {
            labels.append(-1)
            return labels.count - 1
        }

        mutating func bind(_ label: Int) { labels[label] = instructions.count }

        /// Emits code that falls through when `filter` holds and goes to `onFalse` when not.
        mutating func emit(_ filter: SocketFilter, onFalse: Target) {
            switch filter {
            case let .localAddress(address):
                instructions.append(.host(code: FilterBytecode.sourceCondition, address: address, onFalse: onFalse))
            case let .remoteAddress(address):
                instructions.append(.host(code: FilterBytecode.destinationCondition, address: address, onFalse: onFalse))
            case let .localPort(port):
                instructions.append(.portEquals(code: FilterBytecode.sourcePortEquals, port: port, onFalse: onFalse))
            case let .remotePort(port):
                instructions.append(.portEquals(code: FilterBytecode.destinationPortEquals, port: port, onFalse: onFalse))
            case let .all(filters):
                for filter in filters { emit(filter, onFalse: onFalse) }
            case let .any(filters):
                guard let last = filters.last else {
                    instructions.append(.jump(onFalse))
                    return
                }
                // a || b || c: try each in turn; the first that holds jumps to the end.
                let matched = newLabel()
                for filter in filters.dropLast() {
                    let next = newLabel()
                    emit(filter, onFalse: .label(next))
                    instructions.append(.jump(.label(matched)))
                    bind(next)
                }
                emit(last, onFalse: onFalse)
                bind(matched)
            }
        }
    }

    /// The program for `filter`; throws when it would not fit in an attribute.
    static func compile(_ filter: SocketFilter) throws(WireError) -> [UInt8] {
        var assembler = Assembler()
        assembler.emit(filter, onFalse: .reject)
        if assembler.instructions.isEmpty { assembler.instructions.append(.nop) }  // `.all([])`: match all

        var offsets: [Int] = []
        offsets.reserveCapacity(assembler.instructions.count + 1)
        var total = 0
        for instruction in assembler.instructions {
            offsets.append(total)
            total += instruction.length
        }
        offsets.append(total)
        guard total <= maximumLength else {
            throw .malformed("filter compiles to \(total) bytes of bytecode, more than \(maximumLength)")
        }

        var writer = WireWriter(capacity: total)
        for (index, instruction) in assembler.instructions.enumerated() {
            let here = offsets[index]
            func distance(to target: Target) -> UInt16 {
                switch target {
                case .reject: UInt16(total + 4 - here)
                case let .label(label): UInt16(offsets[assembler.labels[label]] - here)
                }
            }
            switch instruction {
            case let .portEquals(code, port, onFalse):
                writer.append(code)
                writer.append(8)
                writer.appendHost(distance(to: onFalse))
                // The port rides in the `no` field of a second, otherwise unused operation.
                writer.append(0)
                writer.append(0)
                writer.appendHost(port)
            case let .host(code, address, onFalse):
                writer.append(code)
                writer.append(UInt8(instruction.length))
                writer.appendHost(distance(to: onFalse))
                // struct inet_diag_hostcond: family, prefix_len, 2 bytes padding, int port, addr.
                writer.append(address.family == .ipv4 ? InetDiagWire.afInet : InetDiagWire.afInet6)
                writer.append(address.family == .ipv4 ? 32 : 128)
                writer.appendZeros(2)
                writer.appendHost(Int32(-1))  // any port
                writer.append(contentsOf: address.networkBytes)
            case let .jump(target):
                writer.append(jump)
                writer.append(4)
                writer.appendHost(distance(to: target))
            case .nop:
                writer.append(nop)
                writer.append(4)
                writer.appendHost(UInt16(4))
            }
        }
        return writer.bytes
    }
}
