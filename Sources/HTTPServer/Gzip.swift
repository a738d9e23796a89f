import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// One-shot gzip compression with zlib.
enum Gzip {
    /// The gzip member (RFC 1952) for `input`, in memory from `malloc` that the caller frees,
    /// or nil if zlib fails. `level` is zlib's 1 (fastest) … 9 (smallest).
    ///
    /// deflateInit2 with windowBits 15+16 (the `pp_deflate_init_gzip` shim) writes the gzip
    /// header and trailer; deflateBound sizes the output so one deflate(Z_FINISH) suffices.
    static func compress(_ input: UnsafeRawBufferPointer, level: Int32) -> (bytes: UnsafeMutableRawPointer, count: Int)? {
        guard input.count <= Int(uInt.max) else { return nil }
        var stream = z_stream()
        guard pp_deflate_init_gzip(&stream, level) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        guard let output = malloc(bound) else { return nil }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(bound)
        guard deflate(&stream, Z_FINISH) == Z_STREAM_END else {
            free(output)
            return nil
        }
        return (output, Int(stream.total_out))
    }
}
