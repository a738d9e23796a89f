// The C callbacks libmicrohttpd calls on its own threads. They are top-level functions in a
// non-main file (a closure in main.swift would inherit @MainActor and trap), and reach the
// server through `cls`: an unretained ServerContext that the HTTPServer keeps alive until its
// daemons have stopped.
import CMicroHTTPD
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// MHD_AccessHandlerCallback. Answers on the first call for a request (after its headers):
/// request bodies are not read, so MHD discards any and closes such a connection afterwards.
///
/// MHD calls again only if no response got queued — MHD_queue_response quietly does nothing
/// once MHD_stop_daemon has begun — so a second call aborts the request instead of running
/// the handler twice.
func handleRequest(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
    version: UnsafePointer<CChar>?, uploadData: UnsafePointer<CChar>?, uploadDataSize: UnsafeMutablePointer<Int>?,
    requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let requestContext else { return .NO }
    guard requestContext.pointee == nil else { return .NO }
    requestContext.pointee = answeredMarker
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    // Matched by requestCompleted: MHD reports every request whose handler it called.
    context.activeRequests.wrappingAdd(1, ordering: .acquiringAndReleasing)

    let request = HTTPRequest(
        method: method.map { String(cString: $0) } ?? "",
        path: url.map { String(cString: $0) } ?? "/",
        queryItems: connectionValues(connection, kind: .GET_ARGUMENT_KIND).map { QueryItem(name: $0.name, value: $0.value) },
        headers: connectionValues(connection, kind: .HEADER_KIND),
        version: version.map { String(cString: $0) } ?? "")
    let gzip = ContentCoding.acceptsGzip(request.header("Accept-Encoding"))
    // Before the concurrency limit: a wrong password must not take a scrape's slot.
    if let denied = context.security.deny(request) {
        return queue(denied, gzip: false, on: connection, context: context)
    }

    guard context.maxConcurrentRequests > 0, context.concurrencyLimitedPaths?.contains(request.path) ?? true else {
        return queue(context.handler(request), gzip: gzip, on: connection, context: context)
    }
    let limit = context.maxConcurrentRequests
    let running = context.inFlight.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
    defer { context.inFlight.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
    if running > limit {
        context.logger.debug("request over the concurrency limit", metadata: ["limit": "\(limit)", "path": "\(request.path)"])
        let response = HTTPResponse.text(503, "Too many concurrent requests (limit \(limit)); try again later.\n",
                                         headers: [HTTPHeader(name: "Retry-After", value: "1")])
        return queue(response, gzip: false, on: connection, context: context)
    }
    return queue(context.handler(request), gzip: gzip, on: connection, context: context)
}

/// The per-request value (`*con_cls`) of a request whose handler has run.
private nonisolated(unsafe) let answeredMarker = UnsafeMutableRawPointer(bitPattern: 1)

/// Builds the MHD response (gzipped when allowed and useful) and queues it; MHD leaves the
/// body out for HEAD and sets Content-Length itself.
private func queue(_ response: HTTPResponse, gzip: Bool, on connection: OpaquePointer, context: ServerContext) -> MHD_Result {
    var compressed = false
    var handle: OpaquePointer?
    if gzip, response.compressible, !response.body.isEmpty,
       let output = response.body.withUnsafeBytes({ Gzip.compress($0, level: context.gzipLevel) }) {
        handle = MHD_create_response_from_buffer_with_free_callback(output.count, output.bytes, free)
        if handle == nil { free(output.bytes) }
        compressed = true
    } else {
        handle = response.body.withUnsafeBytes { body in
            MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), .RESPMEM_MUST_COPY)
        }
    }
    guard let handle else {
        context.logger.error("cannot create a response (out of memory?)")
        return .NO
    }
    defer { MHD_destroy_response(handle) }

    var hasContentType = false
    for header in response.headers + context.security.responseHeaders {
        let name = header.name.lowercased()
        if name == "content-length" || name == "connection" || name == "x-content-type-options" || (compressed && name == "content-encoding") { continue }
        hasContentType = hasContentType || name == "content-type"
        if MHD_add_response_header(handle, header.name, header.value) != .YES {
            context.logger.warning("response header rejected", metadata: ["header": "\(header.name)"])
        }
    }
    if !hasContentType { _ = MHD_add_response_header(handle, "Content-Type", "text/plain; charset=utf-8") }
    _ = MHD_add_response_header(handle, "X-Content-Type-Options", "nosniff")
    // One request per connection: a later request on it would not pass the gate (HTTPGate).
    _ = MHD_add_response_header(handle, "Connection", "close")
    if compressed { _ = MHD_add_response_header(handle, "Content-Encoding", "gzip") }
    if response.compressible { _ = MHD_add_response_header(handle, "Vary", "Accept-Encoding") }
    return MHD_queue_response(connection, UInt32(clamping: response.status), handle)
}

/// MHD_get_connection_values for one kind (headers, or decoded query arguments), in order.
private func connectionValues(_ connection: OpaquePointer, kind: MHD_ValueKind) -> [HTTPHeader] {
    var values: [HTTPHeader] = []
    withUnsafeMutablePointer(to: &values) { pointer in
        _ = MHD_get_connection_values(connection, kind, appendConnectionValue, pointer)
    }
    return values
}

/// MHD_KeyValueIterator: appends to the `[HTTPHeader]` that `cls` points to. A query key
/// without `=` has a NULL value, kept as "".
private func appendConnectionValue(
    cls: UnsafeMutableRawPointer?, kind: MHD_ValueKind, key: UnsafePointer<CChar>?, value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    cls.assumingMemoryBound(to: [HTTPHeader].self).pointee
        .append(HTTPHeader(name: String(cString: key), value: value.map { String(cString: $0) } ?? ""))
    return .YES
}

/// MHD_RequestCompletedCallback: the response was sent, or the connection failed or closed.
func requestCompleted(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?, requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    termination: MHD_RequestTerminationCode
) {
    guard let cls else { return }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    context.activeRequests.wrappingSubtract(1, ordering: .acquiringAndReleasing)
}

/// MHD_LogCallback: libmicrohttpd's own messages (connection limit reached, sockets failing,
/// malformed requests) into the server's logger.
func logLibraryMessage(cls: UnsafeMutableRawPointer?, format: UnsafePointer<CChar>?, arguments: CVaListPointer?) {
    guard let cls, let format, let arguments else { return }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    var buffer = [CChar](repeating: 0, count: 512)
    _ = vsnprintf(&buffer, buffer.count, format, arguments)
    var message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while message.last == "\n" { message.removeLast() }
    // Resource trouble (connection limit, thread or memory failures) is worth a warning, counted
    // and logged once per interval since a flood of clients repeats it; the rest (malformed
    // requests, clients going away) is per-client noise.
    let trouble = message.contains("limit") || message.contains("Failed") || message.contains("failed")
    if trouble {
        context.counts.add("libmicrohttpd: \(message)")
    } else {
        context.logger.debug("\(message)", metadata: ["source": "libmicrohttpd"])
    }
}
