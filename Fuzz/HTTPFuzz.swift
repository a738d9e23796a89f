// libFuzzer harness over the Swift side of an HTTP request (see Fuzz/run.sh): the gate's
// judgement of the head (Sources/HTTPServer/RequestHead.swift), then, for a head it accepts,
// what the exporter does with the request: Accept-Encoding (ContentCoding), the exposition
// format (Metrics/ExpositionFormat) and the collect[]/exclude[] selection
// (Exporter/CollectorSelection). Compiled together as one module, without libmicrohttpd.
// Whatever the bytes: a verdict, never a trap, an out-of-bounds read (ASan) or a hang.

private let enabled = ["range", "sockets", "udp", "kernel", "probes"]

@_cdecl("LLVMFuzzerTestOneInput")
public func httpFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    // The gate judges every prefix it receives; a cut one must not be judged worse than
    // "incomplete" unless the bytes so far already settle it.
    _ = RequestHead.evaluate(UnsafeRawBufferPointer(rebasing: input[..<(size / 2)]))
    let verdict = RequestHead.evaluate(input)
    switch verdict {
    case .incomplete:
        precondition(size < RequestHead.Limits().headBytes, "a head over the limit is refused, not waited for")
        return 0
    case let .rejected(rejection):
        precondition([400, 408, 413, 414, 431, 505].contains(rejection.status) && !rejection.reason.isEmpty)
        return 0
    case let .accepted(length):
        precondition(length >= 4 && length <= size && length <= RequestHead.Limits().headBytes)
        let head = Array(UnsafeRawBufferPointer(rebasing: input[..<length]))
        precondition(!head.contains(0), "an accepted head holds no NUL")
        let request = FuzzRequest(head)
        _ = ContentCoding.acceptsGzip(request.header("Accept-Encoding"))
        _ = ExpositionFormat.negotiate(accept: request.header("Accept")).contentType
        switch CollectorSelection.resolve(collect: request.queryValues("collect[]"), exclude: request.queryValues("exclude[]"), enabled: enabled) {
        case let .success(selected): precondition(selected.isSubset(of: Set(enabled)))
        case let .failure(failure): precondition(failure.message.hasPrefix("unknown or disabled collector"))
        }
        return 0
    }
}

/// An accepted head as libmicrohttpd hands it to the handler: headers, and the query
/// split at `&` and `=` with percent- and `+`-decoding.
struct FuzzRequest {
    var headers: [(String, String)] = []
    var query: [(String, String)] = []

    init(_ head: [UInt8]) {
        let lines = head.split(separator: UInt8(ascii: "\n")).map { Array($0.prefix { $0 != UInt8(ascii: "\r") }) }
        let target = lines.first.map { $0.split(separator: UInt8(ascii: " ")) }.flatMap { $0.count > 1 ? Array($0[1]) : nil } ?? []
        if let question = target.firstIndex(of: UInt8(ascii: "?")) {
            for item in target[(question + 1)...].split(separator: UInt8(ascii: "&")) {
                let pair = item.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                query.append((Self.decoded(pair[0]), pair.count > 1 ? Self.decoded(pair[1]) : ""))
            }
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            headers.append((String(decoding: line[..<colon], as: UTF8.self),
                            trimmingWhitespace(Substring(decoding: line[(colon + 1)...], as: UTF8.self))))
        }
    }

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    func queryValues(_ name: String) -> [String] { query.filter { $0.0 == name }.map(\.1) }

    static func decoded(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex,
               let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                out.append(value)
                index += 3
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
