import Foundation
import Logging
import MagiHTTP
import MCP
import Synchronization

/// The SDK's `Transport` for a remote MCP server over Streamable HTTP (protocol 2025-03-26 and
/// later), on magi's libcurl client (MagiHTTP).
///
/// Not the SDK's `HTTPClientTransport`: on Linux it reads a response with URLSession's
/// `data(for:)` (FoundationNetworking has no `bytes(for:)` to stream with) and hands an answer
/// sent as server-sent events to the client as raw `event:`/`data:` text, which the client cannot
/// read — and servers, the Python SDK's among them, answer with events by default.
///
/// Each message is POSTed with the configured headers; the response (JSON, or server-sent events
/// ending with the answer) is read whole, up to the message limit, and its messages handed to the
/// ``MCPChannel`` when it ends. The session id the server gives with its answer to `initialize`
/// goes back with every later request, with the protocol version agreed on. No GET stream is kept
/// open for messages the server starts on its own: magi needs none for tools.
actor MCPHTTPTransport: Transport {
    nonisolated let logger = MCPChannel.silentLogger
    nonisolated let channel: MCPChannel
    private let url: String
    private let headers: [String]
    private let bodyLimit: Int
    private let requestTimeout: Duration
    private let http = HTTPClient()
    private var sessionID: String?
    private var protocolVersion: String?
    private nonisolated let closed = Latch()

    /// - Throws: ``MCPError/invalidConfiguration(_:)`` when a header names a variable not set.
    init(config: MCPServerConfig, url: String, messageLimit: Int) throws(MCPError) {
        channel = MCPChannel(server: config.name)
        self.url = url
        headers = try config.resolvedHeaders().map { "\($0.name): \($0.value)" }
        bodyLimit = messageLimit
        requestTimeout = max(config.callTimeout, config.startupTimeout) + .seconds(5)
    }

    func connect() async throws {}

    /// Ending the session is ``close()``'s.
    func disconnect() async {}

    /// Stops the requests under way and fails those waiting; later ones fail at once.
    nonisolated func close() {
        closed.set()
        channel.fail(.serverGone(server: channel.server, reason: "was closed"))
    }

    /// The protocol version agreed on in `initialize`, sent with every later request.
    func negotiated(_ version: String) { protocolVersion = version }

    func receive() -> AsyncThrowingStream<Data, any Error> { channel.messages }

    /// POSTs `data` and hands the messages of the response to the channel.
    ///
    /// - Throws: ``MCPError``: the server answered with an HTTP error (``MCPError/httpStatus(server:status:message:)``),
    ///   could not be reached, ended the session, or is closed.
    func send(_ data: Data) async throws {
        if let failure = channel.failure { throw failure }
        var fields = headers + ["Content-Type: application/json", "Accept: application/json, text/event-stream"]
        if let sessionID { fields.append("Mcp-Session-Id: \(sessionID)") }
        if let protocolVersion { fields.append("MCP-Protocol-Version: \(protocolVersion)") }
        let request = HTTPRequest(url: url, headers: fields, body: Array(data), maxBytes: 4096, timeout: requestTimeout, maxRedirects: 0)
        let body = CappedBody(limit: bodyLimit)
        let closed = closed
        let server = channel.server
        let response: MagiHTTP.HTTPResponse
        do throws(HTTPError) {
            response = try await http.stream(request, shouldStop: { closed.isSet || body.overflowed }, receive: { body.append($0) })
        } catch {
            if body.overflowed {
                let limit = bodyLimit >= 1 << 20 ? "\(bodyLimit >> 20) MB" : "\(bodyLimit) bytes"
                channel.warn("dropped an answer longer than \(limit)")
                let violation = MCPError.protocolViolation(server: server, reason: "it sent a message longer than \(limit), which was dropped")
                channel.failWaiting(violation)
                throw violation
            }
            if let failure = channel.failure { throw failure }
            if case .timedOut(let seconds) = error { throw MCPError.unreachable(server: server, reason: "no answer within \(seconds) s") }
            throw MCPError.unreachable(server: server, reason: Self.printable(error.description))
        }
        guard (200..<300).contains(response.status) else {
            if response.status == 404, sessionID != nil {
                let gone = MCPError.serverGone(server: server, reason: "ended the session (HTTP 404)")
                channel.fail(gone)
                throw gone
            }
            throw MCPError.httpStatus(server: server, status: response.status, message: Self.printable(response.text))
        }
        if sessionID == nil, let id = response.headers["mcp-session-id"], !id.isEmpty,
           id.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) {
            sessionID = id
        }
        let text = String(decoding: body.bytes, as: UTF8.self)
        guard !text.allSatisfy(\.isWhitespace) else { return }
        if response.mediaType == "text/event-stream" {
            Self.events(in: text).forEach(channel.receive)
        } else {
            channel.receive(text)
        }
    }

    /// The data of the `message` events (those without a type too) of a server-sent event stream.
    static func events(in stream: String) -> [String] {
        var events: [String] = []
        var data: [Substring] = []
        var type = ""
        for line in stream.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            if line.isEmpty {
                if !data.isEmpty && (type.isEmpty || type == "message") { events.append(data.joined(separator: "\n")) }
                (data, type) = ([], "")
                continue
            }
            let (field, value) = line.firstIndex(of: ":").map { colon -> (Substring, Substring) in
                let value = line[line.index(after: colon)...]
                return (line[..<colon], value.first == " " ? value.dropFirst() : value)
            } ?? (line, "")
            switch field {
            case "data": data.append(value)
            case "event": type = String(value)
            default: break  // comments (":"), "id", "retry"
            }
        }
        if !data.isEmpty && (type.isEmpty || type == "message") { events.append(data.joined(separator: "\n")) }
        return events
    }

    /// `text` on one line, at most 200 characters, control characters shown as `?`.
    static func printable(_ text: String) -> String {
        let line = MCPServerProcess.oneLine(text, limit: 200)
        return String(String.UnicodeScalarView(line.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
    }
}

/// A flag set once, read from any thread.
private final class Latch: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}

/// A response's body, kept up to `limit` bytes.
private final class CappedBody: Sendable {
    private let state = Mutex((bytes: [UInt8](), overflowed: false))
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    var bytes: [UInt8] { state.withLock { $0.bytes } }
    var overflowed: Bool { state.withLock { $0.overflowed } }

    func append(_ chunk: [UInt8]) {
        state.withLock { state in
            if state.bytes.count + chunk.count > limit { state.overflowed = true } else { state.bytes += chunk }
        }
    }
}
