import CCurl
import Foundation

/// One HTTP request with the limits every client needs: a GET for the web tools, a streamed POST
/// for remote models.
public struct HTTPRequest: Sendable {
    public var url: String
    /// Extra header lines, such as `Accept: application/json`.
    public var headers: [String]
    /// The body of a POST; nil for a GET.
    public var body: [UInt8]?
    /// Bytes of body kept; the transfer stops there and the response is marked truncated.
    public var maxBytes: Int
    /// The whole transfer's time limit.
    public var timeout: Duration
    /// Redirects followed before giving up.
    public var maxRedirects: Int

    public init(url: String, headers: [String] = [], body: [UInt8]? = nil, maxBytes: Int = 2_000_000,
                timeout: Duration = .seconds(20), maxRedirects: Int = 5) {
        self.url = url
        self.headers = headers
        self.body = body
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.maxRedirects = maxRedirects
    }
}

/// What a server answered.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// The response's header fields, names lowercased (the last response's, after redirects).
    public var headers: [String: String]
    /// The `Content-Type` header, if any.
    public var contentType: String?
    /// The URL after redirects.
    public var url: String
    public var body: [UInt8]
    /// The body went past ``HTTPRequest/maxBytes`` and was cut there.
    public var isTruncated: Bool

    /// The media type without parameters, lowercased (`text/html`).
    public var mediaType: String? {
        contentType.map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
    }

    /// The body as text in the charset the `Content-Type` names (UTF-8 when none; ISO-8859-1 and
    /// Windows-1252 understood), invalid bytes replaced.
    public var text: String {
        let charset = contentType?.lowercased().components(separatedBy: "charset=").dropFirst().first?
            .trimmingCharacters(in: CharacterSet(charactersIn: "\"' ;")) ?? "utf-8"
        switch charset {
        case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252", "us-ascii":
            return String(String.UnicodeScalarView(body.map { Unicode.Scalar($0) }))
        default:
            return String(decoding: body, as: UTF8.self)
        }
    }
}

/// Why a request got no response.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidURL(String)
    case tooManyRedirects(Int)
    case timedOut(seconds: Int)
    case cancelled
    /// A transfer failure as libcurl words it (connection refused, unknown host…).
    case transfer(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): return "'\(url)' is not an http or https URL"
        case .tooManyRedirects(let n): return "more than \(n) redirects"
        case .timedOut(let s): return "no complete answer within \(s) s"
        case .cancelled: return "the request was cancelled"
        case .transfer(let reason): return reason
        }
    }
}

/// HTTP over libcurl: http and https only, redirects bounded, body size and time bounded,
/// compressed responses decoded, cancellation honoured within a fraction of a second.
public struct HTTPClient: Sendable {
    public var userAgent: String

    public init(userAgent: String = "magi/0.1") {
        self.userAgent = userAgent
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Performs `request`; the blocking transfer runs on its own thread.
    public func get(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        try await perform(request, shouldStop: { false }, receive: nil)
    }

    /// Performs `request`, handing `receive` the body of a successful (2xx) response piece by piece
    /// as it arrives (server-sent events); any other response's body is kept in the result. The
    /// transfer stops, as cancelled, once `shouldStop` says so.
    public func stream(_ request: HTTPRequest, shouldStop: @escaping @Sendable () -> Bool,
                       receive: @escaping @Sendable ([UInt8]) -> Void) async throws(HTTPError) -> HTTPResponse {
        try await perform(request, shouldStop: shouldStop, receive: receive)
    }

    private func perform(_ request: HTTPRequest, shouldStop: @escaping @Sendable () -> Bool,
                         receive: (@Sendable ([UInt8]) -> Void)?) async throws(HTTPError) -> HTTPResponse {
        guard let scheme = URL(string: request.url)?.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .invalidURL(request.url)
        }
        _ = Self.globalInit
        let transfer = Transfer(limit: request.maxBytes, shouldStop: shouldStop, receive: receive)
        let agent = userAgent
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: transfer.perform(request, userAgent: agent)) }
                thread.start()
            }
        } onCancel: {
            transfer.cancel()
        }
        return try result.get()
    }
}

/// The state of one transfer, shared with libcurl's callbacks.
// Sendable by hand: `cancelled` is guarded by `lock`; the other fields are written by libcurl's callbacks on the thread running `curl_easy_perform` and read on that thread after it returns.
private final class Transfer: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    let limit: Int
    let shouldStop: @Sendable () -> Bool
    /// Takes a successful response's body as it arrives, instead of ``body``.
    let receive: (@Sendable ([UInt8]) -> Void)?
    var body: [UInt8] = []
    var truncated = false
    var headers: [String: String] = [:]
    /// The status of the response being received (set when its header lines begin).
    var status = 0

    init(limit: Int, shouldStop: @escaping @Sendable () -> Bool, receive: (@Sendable ([UInt8]) -> Void)?) {
        self.limit = limit
        self.shouldStop = shouldStop
        self.receive = receive
    }

    func cancel() { lock.withLock { cancelled = true } }
    var isCancelled: Bool { lock.withLock { cancelled } || shouldStop() }

    /// Takes one header line: a status line starts a new response (after a redirect or a 100).
    func header(_ line: String) {
        if line.hasPrefix("HTTP/") {
            headers = [:]
            status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        } else if let colon = line.firstIndex(of: ":") {
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func perform(_ request: HTTPRequest, userAgent: String) -> Result<HTTPResponse, HTTPError> {
        guard let handle = curl_easy_init() else { return .failure(.transfer("libcurl could not start a transfer")) }
        defer { curl_easy_cleanup(handle) }
        var headers: UnsafeMutablePointer<curl_slist>?
        for line in request.headers { headers = curl_slist_append(headers, line) }
        defer { curl_slist_free_all(headers) }
        let (seconds, attoseconds) = request.timeout.components
        let timeoutMS = Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
        magi_curl_setopt_string(handle, CURLOPT_URL, request.url)
        magi_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        magi_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        magi_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1)
        magi_curl_setopt_long(handle, CURLOPT_MAXREDIRS, request.maxRedirects)
        magi_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMS)
        magi_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(timeoutMS, 10_000))
        magi_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        magi_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
        magi_curl_setopt_string(handle, CURLOPT_USERAGENT, userAgent)
        magi_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
        if let body = request.body {
            magi_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
            magi_curl_setopt_copy_postfields(handle, body)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        magi_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        magi_curl_setopt_header_function(handle) { data, size, count, context in
            let n = size * count
            if let data {
                let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
                Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().header(line)
            }
            return n
        }
        magi_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        magi_curl_setopt_write_function(handle) { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            guard let data else { return n }
            if let receive = transfer.receive, (200..<300).contains(transfer.status) {
                receive(data.withMemoryRebound(to: UInt8.self, capacity: n) { Array(UnsafeBufferPointer(start: $0, count: n)) })
                return n
            }
            let room = transfer.limit - transfer.body.count
            data.withMemoryRebound(to: UInt8.self, capacity: n) { bytes in
                transfer.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: min(n, max(0, room))))
            }
            if n > room {
                transfer.truncated = true
                return 0  // stops the transfer: enough was read
            }
            return n
        }
        magi_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
        magi_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        magi_curl_setopt_progress_function(handle) { context, _, _, _, _ in
            Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().isCancelled ? 1 : 0
        }

        let code = curl_easy_perform(handle)
        switch code {
        case CURLE_OK: break
        case CURLE_WRITE_ERROR where truncated: break
        case CURLE_ABORTED_BY_CALLBACK: return .failure(.cancelled)
        case CURLE_TOO_MANY_REDIRECTS: return .failure(.tooManyRedirects(request.maxRedirects))
        case CURLE_OPERATION_TIMEDOUT: return .failure(.timedOut(seconds: max(1, timeoutMS / 1000)))
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: return .failure(.invalidURL(request.url))
        default: return .failure(.transfer(String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        magi_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var contentType: UnsafeMutablePointer<CChar>?
        magi_curl_getinfo_string(handle, CURLINFO_CONTENT_TYPE, &contentType)
        var effective: UnsafeMutablePointer<CChar>?
        magi_curl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &effective)
        return .success(HTTPResponse(status: status, headers: self.headers, contentType: contentType.map { String(cString: $0) },
                                     url: effective.map { String(cString: $0) } ?? request.url, body: body, isTruncated: truncated))
    }
}
