import Foundation
import MagiEngine
import MagiHTTP

/// A chat model behind an OpenAI-compatible server — vLLM, llama.cpp's server, Ollama, Mistral's
/// API or `magi serve` — streamed over server-sent events.
///
/// Reasoning is read from `reasoning` (current vLLM), `reasoning_content` (older vLLM, llama.cpp),
/// Mistral's `thinking` content chunks, or `[THINK]`/`<think>` in the text; tool calls from
/// `tool_calls`. Rate limits (429) and server errors (5xx) are retried with backoff while nothing
/// has been received.
public struct RemoteChatClient: Sendable {
    /// The API's base URL, ending before `/chat/completions` (`http://localhost:8000/v1`).
    public let baseURL: String
    /// The model the server is asked for.
    public var model: String
    /// Sent as `Authorization: Bearer …`; never written to history or sessions.
    let apiKey: String?
    /// The whole of one request's time limit.
    public var timeout: Duration
    /// Attempts after the first on 429 and 5xx.
    public var retries: Int
    /// The first wait before a retry (doubled each time) when the server gives no `Retry-After`.
    public var backoff: Duration
    /// The most bytes one server-sent event may hold, and a whole streamed answer: a server that
    /// streams without end is cut there (``RemoteError/eventTooLarge(limit:)``, ``RemoteError/answerTooLarge(limit:)``).
    public var maxEventBytes = 8 << 20
    public var maxAnswerBytes = 256 << 20
    private let http = HTTPClient(userAgent: "magi/0.1")

    public init(baseURL: String, model: String, apiKey: String?, timeout: Duration = .seconds(600), retries: Int = 3,
                backoff: Duration = .milliseconds(500)) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.model = model
        self.apiKey = apiKey
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
    }

    /// What to ask for besides the conversation.
    public struct Options: Sendable {
        public var temperature: Float?
        public var topP: Float?
        public var maxTokens: Int?
        public var seed: UInt64?
        /// OpenAI's `response_format` (`json_object`, or `json_schema` with the schema).
        public var responseFormat: JSONValue?
        /// A GBNF grammar, for servers that take llama.cpp's `grammar` extension.
        public var grammar: String?
        /// `tool_choice: required`.
        public var requiresToolCall = false

        public init() {}
    }

    /// One reply: the assistant message and how it ended.
    public struct Reply: Sendable {
        public var message: ChatMessage
        /// `finish_reason` as the server said it (`stop`, `length`, `tool_calls`), or nil when stopped.
        public var finishReason: String?
        public var promptTokens: Int?
        public var completionTokens: Int?
        /// From sending the request to the first piece of the answer, and from there to the end.
        public var waitSeconds: Double
        public var streamSeconds: Double
        public var wasStopped: Bool
    }

    /// The models the server lists (`GET /models`).
    ///
    /// - Throws: ``RemoteError`` when the server cannot be reached or refuses.
    public func models() async throws(RemoteError) -> [String] {
        let response = try await send(HTTPRequest(url: baseURL + "/models", headers: headers, maxBytes: 4 << 20, timeout: .seconds(30)),
                                      shouldStop: { false }, receive: nil)
        guard let response, let json = try? JSONValue(parsing: response.text), let items = json["data"]?.array else {
            throw .malformed("\(baseURL)/models did not answer with a model list")
        }
        return items.compactMap { $0["id"]?.string }
    }

    /// Streams the reply to `conversation`, handing `output` reasoning, text and tool calls as they
    /// arrive. `shouldStop` is polled as data comes; a stopped reply keeps what arrived.
    ///
    /// - Throws: ``RemoteError``: unreachable, refused (401, 404, 400 with the server's message),
    ///   retried out (429, 5xx), timed out, or a stream that is not the chat-completions format.
    public func reply(to conversation: Conversation, options: Options, shouldStop: @escaping @Sendable () -> Bool,
                      output: @escaping @Sendable (StreamEvent) -> Void) async throws(RemoteError) -> Reply {
        let body = requestBody(conversation, options: options).compactText
        let request = HTTPRequest(url: baseURL + "/chat/completions", headers: headers + ["Content-Type: application/json", "Accept: text/event-stream"],
                                  body: Array(body.utf8), maxBytes: 4 << 20, timeout: timeout)
        let reader = ChunkReader(output: output, eventLimit: maxEventBytes, answerLimit: maxAnswerBytes)
        let start = Date()
        // A stream over its limits ends the transfer; `finish` then throws why.
        _ = try await send(request, shouldStop: { shouldStop() || reader.hasFailed }, receive: { reader.append($0) })
        return try reader.finish(start: start, stopped: shouldStop())
    }

    /// The chat-completions request for `conversation`.
    func requestBody(_ conversation: Conversation, options: Options) -> JSONValue {
        let tools: JSONValue? = conversation.tools.isEmpty ? nil : .array(conversation.tools.map(OpenAIWireFormat.json(for:)))
        return .object([
            "model": .string(model),
            "messages": .array(conversation.messages.map(OpenAIWireFormat.json(for:))),
            "tools": tools,
            "tool_choice": tools != nil && options.requiresToolCall ? .string("required") : nil,
            "stream": .bool(true),
            "stream_options": .object(["include_usage": .bool(true)]),
            "temperature": options.temperature.map { .number(String(format: "%g", Double($0))) },
            "top_p": options.topP.map { .number(String(format: "%g", Double($0))) },
            "max_tokens": options.maxTokens.map { .number($0) },
            "seed": options.seed.map { .number(String(Int64(bitPattern: $0 & 0x7FFF_FFFF_FFFF_FFFF))) },
            "response_format": options.responseFormat,
            "grammar": options.grammar.map(JSONValue.string),
        ])
    }

    private var headers: [String] { apiKey.map { ["Authorization: Bearer \($0)"] } ?? [] }

    /// Sends `request`, retrying 429 and 5xx answers (and failed connections) while nothing was
    /// received; nil when `shouldStop` stopped it.
    private func send(_ request: HTTPRequest, shouldStop: @escaping @Sendable () -> Bool,
                      receive: (@Sendable ([UInt8]) -> Void)?) async throws(RemoteError) -> HTTPResponse? {
        var wait = backoff
        for attempt in 0...retries {
            let response: HTTPResponse
            do {
                if let receive {
                    response = try await http.stream(request, shouldStop: shouldStop, receive: receive)
                } else {
                    response = try await http.get(request)
                }
            } catch .cancelled {
                return nil
            } catch .timedOut(let seconds) {
                throw .timedOut(url: request.url, seconds: seconds)
            } catch {
                guard attempt < retries, case .transfer = error else { throw .unreachable(url: request.url, reason: "\(error)") }
                try? await Task.sleep(for: wait)
                wait *= 2
                continue
            }
            if (200..<300).contains(response.status) { return response }
            let message = Self.errorMessage(in: response)
            if (response.status == 429 || response.status >= 500) && attempt < retries && !shouldStop() {
                let after = response.headers["retry-after"].flatMap(Double.init).map { Duration.milliseconds(Int(min($0, 60) * 1000)) }
                try? await Task.sleep(for: after ?? wait)
                wait *= 2
                continue
            }
            throw .refused(status: response.status, url: request.url, message: message)
        }
        preconditionFailure("the loop returns or throws")
    }

    /// The `error.message` of an OpenAI-style error body, else the body's start.
    static func errorMessage(in response: HTTPResponse) -> String {
        if let json = try? JSONValue(parsing: response.text) {
            if let message = json["error"]?["message"]?.string ?? json["error"]?.string ?? json["message"]?.string ?? json["detail"]?.string {
                return message
            }
        }
        let text = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return String(text.prefix(200))
    }
}

/// Why a remote model gave no reply.
public enum RemoteError: Error, Equatable, CustomStringConvertible {
    case unreachable(url: String, reason: String)
    case refused(status: Int, url: String, message: String)
    case timedOut(url: String, seconds: Int)
    case malformed(String)
    /// One server-sent event went past this many bytes (a line or an event without end).
    case eventTooLarge(limit: Int)
    /// The whole streamed answer went past this many bytes.
    case answerTooLarge(limit: Int)

    public var description: String {
        switch self {
        case let .unreachable(url, reason): return "cannot reach \(url): \(reason)"
        case let .timedOut(url, seconds): return "\(url) gave no complete answer within \(seconds) s"
        case let .malformed(reason): return reason
        case let .eventTooLarge(limit): return ServerSentEvents.EventTooLarge(limit: limit).description
        case let .answerTooLarge(limit): return "remote answer exceeds \(mebibytes(limit))"
        case let .refused(status, url, message):
            let detail = message.isEmpty ? "" : ": \(message)"
            switch status {
            case 401, 403: return "\(url) refused the API key (\(status))\(detail); set it in the environment variable the remote names (see magi --help)"
            case 404: return "\(url) has no such model or route (404)\(detail)"
            case 429: return "\(url) is rate-limiting (429) and still was after retries\(detail)"
            default: return "\(url) answered \(status)\(detail)"
            }
        }
    }
}

/// Turns the chunks of a chat-completions stream into stream events and, at the end, the message.
// Sendable by hand: every mutable field is guarded by `lock`.
private final class ChunkReader: @unchecked Sendable {
    private let lock = NSLock()
    private let output: @Sendable (StreamEvent) -> Void
    private var events: ServerSentEvents
    /// Splits `[THINK]`/`<think>` and in-text tool calls out of the content, as magi's own parser does.
    private var parser = StreamParser()
    /// The end of the content so far that may be the start of a `[THINK]` or `[/THINK]` marker.
    private var heldBack = ""
    private var reasoningFromFields = ""
    private var calls: [Int: (id: String, name: String, arguments: String)] = [:]
    private var finishReason: String?
    private var promptTokens: Int?
    private var completionTokens: Int?
    private var firstPiece: Date?
    private var failure: RemoteError?

    /// The bytes of the stream so far, and the most it may have.
    private var received = 0
    private let answerLimit: Int

    init(output: @escaping @Sendable (StreamEvent) -> Void, eventLimit: Int, answerLimit: Int) {
        self.output = output
        self.events = ServerSentEvents(limit: eventLimit)
        self.answerLimit = answerLimit
    }

    /// The stream went wrong (an error chunk, a chunk that is not JSON, a limit passed): nothing
    /// more it sends is read.
    var hasFailed: Bool { lock.withLock { failure != nil } }

    func append(_ bytes: [UInt8]) {
        lock.withLock {
            guard failure == nil else { return }
            received += bytes.count
            guard received <= answerLimit else {
                failure = .answerTooLarge(limit: answerLimit)
                return
            }
            do throws(ServerSentEvents.EventTooLarge) {
                for data in try events.append(bytes) { handle(data) }
            } catch {
                failure = .eventTooLarge(limit: error.limit)
            }
        }
    }

    func finish(start: Date, stopped: Bool) throws(RemoteError) -> RemoteChatClient.Reply {
        lock.lock()
        defer { lock.unlock() }
        for data in events.finish() { handle(data) }
        if let failure { throw failure }
        if !heldBack.isEmpty { emit(parser.append(text: heldBack)) }
        emit(parser.finish())
        var message = parser.message
        if !reasoningFromFields.isEmpty && !message.hasReasoning { message.parts.insert(.thinking(reasoningFromFields), at: 0) }
        for index in calls.keys.sorted() {
            let call = calls[index]!
            let toolCall = ToolCall(id: call.id.isEmpty ? StreamParser.randomCallID() : call.id, name: call.name,
                                    arguments: call.arguments.isEmpty ? "{}" : call.arguments)
            message.toolCalls.append(toolCall)
            output(.toolCall(toolCall))
        }
        let end = Date()
        let first = firstPiece ?? end
        return .init(message: message, finishReason: stopped ? nil : finishReason, promptTokens: promptTokens,
                     completionTokens: completionTokens, waitSeconds: first.timeIntervalSince(start),
                     streamSeconds: end.timeIntervalSince(first), wasStopped: stopped)
    }

    private func handle(_ data: String) {
        guard failure == nil, data != "[DONE]" else { return }
        guard let chunk = try? JSONValue(parsing: data) else {
            failure = .malformed("the server sent a chunk that is not JSON: \(data.prefix(120))")
            return
        }
        if let error = chunk["error"] {
            failure = .refused(status: error["code"]?.integer ?? 500, url: "the server", message: error["message"]?.string ?? error.compactText)
            return
        }
        if let usage = chunk["usage"], usage != .null {
            promptTokens = usage["prompt_tokens"]?.integer
            completionTokens = usage["completion_tokens"]?.integer
        }
        for choice in chunk["choices"]?.array ?? [] {
            if firstPiece == nil { firstPiece = Date() }
            if let reason = choice["finish_reason"]?.string { finishReason = reason }
            guard let delta = choice["delta"] ?? choice["message"] else { continue }
            if let thought = (delta["reasoning"] ?? delta["reasoning_content"])?.string, !thought.isEmpty {
                reasoningFromFields += thought
                output(.reasoning(thought))
            }
            switch delta["content"] {
            case .string(let text)?: feed(text)
            case .array(let parts)?:
                // Mistral's API: [{"type": "thinking", "thinking": [{"type": "text", "text": …}]}, {"type": "text", "text": …}]
                for part in parts {
                    if part["type"]?.string == "thinking" {
                        let thought = (part["thinking"]?.array ?? []).compactMap { $0["text"]?.string }.joined()
                        if !thought.isEmpty {
                            reasoningFromFields += thought
                            output(.reasoning(thought))
                        }
                    } else if let text = part["text"]?.string {
                        feed(text)
                    }
                }
            default: break
            }
            for call in delta["tool_calls"]?.array ?? [] {
                let index = call["index"]?.integer ?? calls.count
                var entry = calls[index] ?? (id: "", name: "", arguments: "")
                entry.id += call["id"]?.string ?? ""
                entry.name += call["function"]?["name"]?.string ?? ""
                entry.arguments += call["function"]?["arguments"]?.string ?? ""
                calls[index] = entry
            }
        }
    }

    /// Feeds answer text to the parser, with `[THINK]` and `[/THINK]` as the special tokens they
    /// stand for, even when a marker is split across chunks.
    private func feed(_ text: String) {
        var rest = Substring(heldBack + text)
        heldBack = ""
        while let marker = [rest.range(of: "[THINK]"), rest.range(of: "[/THINK]")].compactMap({ $0 }).min(by: { $0.lowerBound < $1.lowerBound }) {
            if !rest[..<marker.lowerBound].isEmpty { emit(parser.append(text: String(rest[..<marker.lowerBound]))) }
            emit(parser.append(special: String(rest[marker])))
            rest = rest[marker.upperBound...]
        }
        if let start = rest.indices.first(where: { i in ["[THINK]", "[/THINK]"].contains { $0.hasPrefix(rest[i...]) } }) {
            heldBack = String(rest[start...])
            rest = rest[..<start]
        }
        if !rest.isEmpty { emit(parser.append(text: String(rest))) }
    }

    private func emit(_ events: [StreamEvent]) {
        for event in events { output(event) }
    }
}
