/// `Accept-Encoding` negotiation (RFC 9110 §12.5.3), for the one coding this server applies.
public enum ContentCoding {
    /// Whether `header` allows a gzip body: `gzip` (or `x-gzip`) listed with q > 0, or not
    /// listed and `*` with q > 0. `gzip;q=0` means no; no header means no.
    public static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        var gzipQuality: Double?
        var wildcardQuality: Double?
        for element in header.split(separator: ",") {
            var parts = element.split(separator: ";").makeIterator()
            guard let coding = parts.next().map({ trimmingWhitespace($0).lowercased() }), !coding.isEmpty else { continue }
            var quality = 1.0
            while let parameter = parts.next() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, trimmingWhitespace(pair[0]).lowercased() == "q" else { continue }
                // A malformed q-value makes the element unusable.
                quality = Double(trimmingWhitespace(pair[1])).flatMap { (0...1).contains($0) ? $0 : nil } ?? 0
            }
            switch coding {
            case "gzip", "x-gzip": gzipQuality = max(gzipQuality ?? 0, quality)
            case "*": wildcardQuality = quality
            default: break
            }
        }
        if let gzipQuality { return gzipQuality > 0 }
        return (wildcardQuality ?? 0) > 0
    }

}
