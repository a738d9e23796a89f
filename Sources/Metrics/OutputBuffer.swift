/// A growable byte buffer that the exposition writer owns alone: `reserve` once per line,
/// then unchecked stores — no uniqueness checks or reference counting per byte.
struct OutputBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `extra` more bytes; the `put` calls that follow must stay within it.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if capacity - count < extra { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    // MARK: Unchecked stores (after `reserve`)

    @inline(__always)
    mutating func put(_ byte: UInt8) {
        assert(count < capacity)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        assert(capacity - count >= bytes.count)
        guard let source = bytes.baseAddress else { return }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Stores `bytes`, escaping backslash as `\\`, newline as `\n` and, when `quote` is set,
    /// the double quote as `\"`. Needs up to `2 * bytes.count` reserved.
    @inline(__always)
    mutating func putEscaped(_ bytes: UnsafeBufferPointer<UInt8>, quote: Bool) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): put(UInt8(ascii: "\\")); put(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): put(UInt8(ascii: "\\")); put(UInt8(ascii: "n"))
            case UInt8(ascii: "\"") where quote: put(UInt8(ascii: "\\")); put(UInt8(ascii: "\""))
            default: put(byte)
            }
        }
    }

    /// Stores the decimal digits of `value`. Needs 20 bytes reserved.
    @inline(__always)
    mutating func putInteger(_ value: Int64) {
        if value < 0 { put(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; digits += 1 }
        count += digits
        var index = count
        repeat {
            index -= 1
            base[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
    }

    // MARK: Checked appends

    mutating func append(_ text: some StringProtocol) {
        var text = String(text)
        text.withUTF8 { utf8 in
            reserve(utf8.count)
            put(utf8)
        }
    }

    mutating func appendEscaped(_ text: String, quote: Bool) {
        var text = text
        text.withUTF8 { utf8 in
            reserve(2 * utf8.count)
            putEscaped(utf8, quote: quote)
        }
    }

    /// A copy of the bytes written.
    var bytes: [UInt8] {
        [UInt8](UnsafeBufferPointer(start: base, count: count))
    }
}
