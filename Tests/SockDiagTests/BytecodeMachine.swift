@testable import SockDiag
import SocketModel

/// Runs inet_diag bytecode as the kernel does (net/ipv4/inet_diag.c: the audit that refuses a
/// program, then the per-socket run), so compiled filters can be checked without a kernel.
enum BytecodeMachine {
    struct Entry: CustomStringConvertible {
        var family: AddressFamily
        var local: SocketEndpoint
        var remote: SocketEndpoint
        var description: String { "\(local) -> \(remote)" }
    }

    static func u16(_ p: [UInt8], _ at: Int) -> Int { Int(p[at]) | Int(p[at + 1]) << 8 }
    static func i32(_ p: [UInt8], _ at: Int) -> Int32 { Int32(bitPattern: UInt32(p[at]) | UInt32(p[at + 1]) << 8 | UInt32(p[at + 2]) << 16 | UInt32(p[at + 3]) << 24) }

    /// The kernel's audit: known codes, long-enough arguments, `yes`/`no` multiples of 4 that
    /// stay within end + 4, and `no` landing on an operation reached by the `yes` chain.
    static func audit(_ p: [UInt8]) -> Bool {
        guard p.count >= 4 else { return false }
        var chain: Set<Int> = []
        var pc = 0
        var remaining = p.count
        var pendingTargets: [Int] = []
        while remaining > 0 {
            guard remaining >= 4 else { return false }
            chain.insert(pc)
            let code = p[pc], yes = Int(p[pc + 1]), no = u16(p, pc + 2)
            var minimum = 4
            switch code {
            case FilterBytecode.sourceCondition, FilterBytecode.destinationCondition:
                guard remaining >= 12 else { return false }
                let addressLength: Int
                switch p[pc + 4] {
                case 0: addressLength = 0
                case 2: addressLength = 4
                case 10: addressLength = 16
                default: return false
                }
                guard Int(p[pc + 5]) <= addressLength * 8 else { return false }
                minimum = 12 + addressLength
                guard remaining >= minimum else { return false }
            case 2, 3, 4, 5, 11, 12:  // port comparisons
                minimum = 8
                guard remaining >= 8 else { return false }
            case 0, 1, 6:
                break
            default:
                return false
            }
            if code != FilterBytecode.nop {
                guard no >= minimum, no <= remaining + 4, no % 4 == 0 else { return false }
                if no < remaining { pendingTargets.append(pc + no) }
            }
            guard yes >= minimum, yes <= remaining + 4, yes % 4 == 0 else { return false }
            pc += yes
            remaining -= yes
        }
        guard remaining == 0 else { return false }
        return pendingTargets.allSatisfy { chain.contains($0) }
    }

    /// True when the program accepts the socket (execution ends exactly at the end).
    static func run(_ p: [UInt8], on e: Entry) -> Bool {
        var pc = 0
        var remaining = p.count
        while remaining > 0 {
            var yes = true
            switch p[pc] {
            case FilterBytecode.nop: break
            case FilterBytecode.jump: yes = false
            case FilterBytecode.sourcePortEquals: yes = Int(e.local.port) == u16(p, pc + 6)
            case FilterBytecode.destinationPortEquals: yes = Int(e.remote.port) == u16(p, pc + 6)
            case FilterBytecode.sourceCondition, FilterBytecode.destinationCondition:
                let isSource = p[pc] == FilterBytecode.sourceCondition
                let end = isSource ? e.local : e.remote
                let port = i32(p, pc + 8)
                let family = p[pc + 4], prefix = Int(p[pc + 5])
                if port != -1 && port != Int32(end.port) { yes = false; break }
                let address = end.address.networkBytes
                if family != 0 && family != e.family.rawValue {
                    // An IPv4 condition on an IPv6 socket matches its IPv4-mapped form.
                    if e.family == .ipv6 && family == 2, end.address.ipv4Mapped != nil,
                       bitsMatch(Array(address[12..<16]), Array(p[(pc + 12)..<(pc + 16)]), prefix) {
                        break
                    }
                    yes = false
                    break
                }
                if prefix == 0 { break }
                yes = bitsMatch(address, Array(p[(pc + 12)..<(pc + 12 + address.count)]), prefix)
            default:
                return false
            }
            let step = yes ? Int(p[pc + 1]) : u16(p, pc + 2)
            pc += step
            remaining -= step
        }
        return remaining == 0
    }

    static func bitsMatch(_ a: [UInt8], _ b: [UInt8], _ bits: Int) -> Bool {
        for i in 0..<bits where (a[i / 8] >> (7 - UInt8(i % 8))) & 1 != (b[i / 8] >> (7 - UInt8(i % 8))) & 1 { return false }
        return true
    }
}

/// What a filter means, evaluated directly: the reference compiled programs must agree with.
func reference(_ filter: SocketFilter, _ family: AddressFamily, _ local: SocketEndpoint, _ remote: SocketEndpoint) -> Bool {
    func addressMatches(_ wanted: IPAddress, _ actual: IPAddress) -> Bool {
        if wanted.family == actual.family { return wanted == actual }
        return wanted.family == .ipv4 && actual.ipv4Mapped == wanted
    }
    switch filter {
    case let .localAddress(a): return addressMatches(a, local.address)
    case let .remoteAddress(a): return addressMatches(a, remote.address)
    case let .localPort(p): return local.port == p
    case let .remotePort(p): return remote.port == p
    case let .all(filters): return filters.allSatisfy { reference($0, family, local, remote) }
    case let .any(filters): return filters.contains { reference($0, family, local, remote) }
    }
}

