import Foundation
import Hummingbird
import HummingbirdCore
import MagiAgent
import MagiChat
import MagiEngine
import Synchronization

/// The OpenAI-compatible HTTP API over one local model: `/v1/chat/completions` (streamed or not,
/// with tools, reasoning and `response_format`), `/v1/completions`, `/v1/models` and `/health`.
/// Requests take turns on the engine, in arrival order; the KV cache keeps the longest prefix a
/// request shares with the one before.
struct OpenAIServer: Sendable {
    let turn: ChatTurn
    /// The model's name in `/v1/models`; requests may also name the model's file.
    let modelID: String
    /// Requests to `/v1/…` must carry `Authorization: Bearer KEY` when set.
    let apiKey: String?
    /// A request naming another model is refused (404); otherwise any name is served and reported back.
    let strictModel: Bool
    /// Sampling for what a request leaves unsaid.
    let defaults: SamplingParameters
    /// The most tokens an answer may have when the request sets no limit (nil: the window's room).
    let maxTokens: Int?
    /// Tool calls are constrained to the offered tools' schemas.
    let constrainsToolCalls: Bool
    let engine = EngineQueue()
    /// The most bytes one token of the vocabulary spells: a prompt of `n` bytes has at least `n / this` tokens.
    let longestTokenBytes: Int
    /// The largest request body accepted.
    static let maxBodyBytes = 32 << 20

    init(turn: ChatTurn, modelID: String, apiKey: String?, strictModel: Bool, defaults: SamplingParameters, maxTokens: Int?,
         constrainsToolCalls: Bool) {
        self.turn = turn
        self.modelID = modelID
        self.apiKey = apiKey
        self.strictModel = strictModel
        self.defaults = defaults
        self.maxTokens = maxTokens
        self.constrainsToolCalls = constrainsToolCalls
        let tokenizer = turn.model.tokenizer
        longestTokenBytes = max(1, (0..<Int32(tokenizer.vocabularySize)).reduce(0) { Swift.max($0, tokenizer.tokenBytes($1).count) })
    }

    /// The routes, behind a middleware that answers every error in OpenAI's error shape and one that
    /// answers 503 on connections past the limit.
    func router(connections: ConnectionCount) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: OpenAIErrorMiddleware())
        router.add(middleware: ConnectionLimitMiddleware(connections: connections))
        router.get("/health") { _, _ in Self.json(.object(["status": .string("ok")])) }
        router.get("/v1/models") { request, _ in
            try authorize(request)
            let model = JSONValue.object(["id": .string(modelID), "object": .string("model"), "created": .number(Self.startTime),
                                          "owned_by": .string("magi")])
            return Self.json(.object(["object": .string("list"), "data": .array([model])]))
        }
        router.post("/v1/chat/completions") { request, _ in try await complete(request, chat: true) }
        router.post("/v1/completions") { request, _ in try await complete(request, chat: false) }
        return router
    }

    /// A chat (or legacy) completion request, read, checked and answered; a bad field is a 400.
    private func complete(_ request: Request, chat: Bool) async throws -> Response {
        try authorize(request)
        let body = try await Self.body(of: request)
        let completion: CompletionRequest
        do {
            completion = chat ? try CompletionRequest(chat: body, defaults: defaults) : try CompletionRequest(completion: body, defaults: defaults)
        } catch {
            throw APIError(status: .badRequest, error.message, param: error.param)
        }
        return try await respond(to: completion, chat: chat)
    }

    private func authorize(_ request: Request) throws {
        guard let apiKey else { return }
        guard request.headers[.authorization] == "Bearer \(apiKey)" else {
            throw APIError(status: .unauthorized, "Incorrect API key provided: pass it as 'Authorization: Bearer KEY'",
                           type: "authentication_error", code: "invalid_api_key")
        }
    }

    private static func body(of request: Request) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw APIError(status: .contentTooLarge, "the request body is larger than \(maxBodyBytes >> 20) MB")
        }
        do {
            return try JSONValue(parsing: String(buffer: buffer))
        } catch {
            throw APIError(status: .badRequest, "the request body is not valid JSON: \(error)")
        }
    }

    /// Checks `request` against the model and the window, then answers it (as server-sent events when streamed).
    private func respond(to request: CompletionRequest, chat: Bool) async throws -> Response {
        if strictModel, let name = request.model, name != modelID, name != (turn.model.path as NSString).lastPathComponent {
            throw APIError(status: .notFound, "The model '\(name)' does not exist; this server has '\(modelID)'",
                           type: "invalid_request_error", param: "model", code: "model_not_found")
        }
        // A prompt whose bytes alone need more tokens than the window holds is refused before it is tokenized.
        let promptBytes = request.conversation.map { $0.messages.reduce(0) { $0 + $1.content.utf8.count } } ?? request.prompt?.utf8.count ?? 0
        if promptBytes / longestTokenBytes >= turn.session.contextSize {
            throw APIError(status: .badRequest,
                           "This model's context window is \(turn.session.contextSize) tokens; the prompt's \(promptBytes) bytes are at least \(promptBytes / longestTokenBytes) tokens",
                           param: chat ? "messages" : "prompt", code: "context_length_exceeded")
        }
        let promptTokens: Int
        do {
            if let conversation = request.conversation {
                promptTokens = try turn.promptTokens(for: conversation).count
            } else {
                promptTokens = try turn.promptTokens(for: [], rawText: request.prompt ?? "").count
            }
        } catch .promptTooLong(let tokens, let contextSize) {
            throw APIError(status: .badRequest, "This model's context window is \(contextSize) tokens; the prompt has \(tokens)",
                           param: "messages", code: "context_length_exceeded")
        } catch {
            throw APIError(status: .badRequest, "\(error)", param: "messages")
        }
        let reply = CompletionReply(chat: chat, model: request.model ?? modelID, promptTokens: promptTokens)
        guard request.stream else {
            let collected = Collected()
            let outcome = try await generate(request) { piece in collected.add(piece) }
            return Self.json(reply.whole(collected.pieces, outcome: outcome))
        }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { [self] writer in
            func send(_ value: JSONValue) async throws {
                try await writer.write(ByteBuffer(string: "data: \(value.compactText)\n\n"))
            }
            do {
                if chat { try await send(reply.chunk(delta: .object(["role": .string("assistant"), "content": .string("")]))) }
                let outcome = try await generate(request) { piece in try await send(reply.chunk(piece)) }
                try await send(reply.chunk(finishing: outcome))
                if request.streamUsage { try await send(reply.usageChunk(outcome)) }
            } catch let error as APIError {
                try await send(error.body)
            } catch {
                // The client went away: there is no one to tell.
            }
            try? await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try? await writer.finish(nil)
        })
    }

    /// Generates the answer to `request` once the engine is free, handing `send` each piece in order.
    /// When `send` throws (the client went away), generation stops and the error is rethrown once
    /// the engine has finished.
    private func generate(_ request: CompletionRequest, send: (AnswerPiece) async throws -> Void) async throws -> CompletionOutcome {
        try await engine.run { () async throws -> CompletionOutcome in
            let stop = StopFlag()
            let (events, continuation) = AsyncStream<StreamEvent>.makeStream()
            let generation = Task { () throws -> GenerationSummary? in
                defer { continuation.finish() }
                if let conversation = request.conversation {
                    let model = LocalAgentModel(turn: turn, sampling: request.sampling, maxTokens: request.maxTokens ?? maxTokens,
                                                answerConstraint: request.responseFormat, constrainsToolCalls: constrainsToolCalls,
                                                requiresCall: request.requiresToolCall)
                    let reply = try await model.reply(to: conversation, stop: stop) { continuation.yield($0) }
                    return reply.summary
                }
                let tokens = try turn.promptTokens(for: [], rawText: request.prompt ?? "")
                let reply = try await turn.generate(prompt: tokens, sampling: request.sampling, maxTokens: request.maxTokens ?? maxTokens,
                                                    constraint: request.responseFormat.map { .whole($0) }, stop: stop,
                                                    output: { continuation.yield($0) })
                return reply.summary
            }
            var stops = StopSequences(request.stops)
            var outcome = CompletionOutcome()
            var sendError: (any Error)?
            func deliver(_ piece: AnswerPiece) async {
                guard sendError == nil else { return }
                do { try await send(piece) } catch {
                    sendError = error
                    stop.stop()
                }
            }
            for await event in events {
                switch event {
                case .text(let text):
                    let passed = stops.pass(text)
                    if stops.isStopped {
                        outcome.endedByStopSequence = true
                        stop.stop()
                    }
                    if !passed.isEmpty { await deliver(.content(passed)) }
                case .reasoning(let text):
                    if !outcome.endedByStopSequence { await deliver(.reasoning(text)) }
                case .malformedToolCall(let call):
                    // Unconstrained (--no-constrain) calls that do not parse reach the client as text.
                    let passed = stops.pass(call.text)
                    if !passed.isEmpty { await deliver(.content(passed)) }
                case .toolCall(let call):
                    await deliver(.toolCall(call, index: outcome.toolCalls))
                    outcome.toolCalls += 1
                }
            }
            let rest = stops.finish()
            if !rest.isEmpty { await deliver(.content(rest)) }
            let summary: GenerationSummary?
            do { summary = try await generation.value } catch {
                throw APIError(status: .internalServerError, "generation failed: \(error)", type: "server_error")
            }
            if let sendError { throw sendError }
            outcome.summary = summary
            return outcome
        }
    }

    private static let startTime = Int(Date().timeIntervalSince1970)

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.compactText)))
    }
}

/// A piece of an answer as it streams out of the engine.
enum AnswerPiece: Sendable {
    case content(String)
    case reasoning(String)
    case toolCall(ToolCall, index: Int)
}

/// How a generation ended, for `finish_reason` and `usage`.
struct CompletionOutcome {
    var summary: GenerationSummary?
    var toolCalls = 0
    var endedByStopSequence = false

    var finishReason: String {
        if toolCalls > 0 { return "tool_calls" }
        if endedByStopSequence { return "stop" }
        switch summary?.reason {
        case .maxTokens?, .contextFull?: return "length"
        default: return "stop"
        }
    }
}

/// The pieces of an answer that is not streamed, gathered to be sent whole.
private final class Collected: Sendable {
    private let gathered = Mutex<[AnswerPiece]>([])
    var pieces: [AnswerPiece] { gathered.withLock { $0 } }
    func add(_ piece: AnswerPiece) { gathered.withLock { $0.append(piece) } }
}

/// The JSON of a completion in OpenAI's shapes: a whole response, or the chunks of a stream.
struct CompletionReply: Sendable {
    let chat: Bool
    let model: String
    let promptTokens: Int
    let id: String
    let created = Int(Date().timeIntervalSince1970)

    init(chat: Bool, model: String, promptTokens: Int) {
        self.chat = chat
        self.model = model
        self.promptTokens = promptTokens
        id = (chat ? "chatcmpl-" : "cmpl-") + StreamParser.randomCallID() + StreamParser.randomCallID()
    }

    /// The response to a request that was not streamed.
    func whole(_ pieces: [AnswerPiece], outcome: CompletionOutcome) -> JSONValue {
        var content = "", reasoning = ""
        var calls: [JSONValue] = []
        for piece in pieces {
            switch piece {
            case .content(let text): content += text
            case .reasoning(let text): reasoning += text
            case .toolCall(let call, _): calls.append(OpenAIWireFormat.json(for: call))
            }
        }
        let choice: JSONValue
        if chat {
            let message = JSONValue.object([
                "role": .string("assistant"),
                "content": content.isEmpty && !calls.isEmpty ? .null : .string(content),
                "reasoning_content": reasoning.isEmpty ? nil : .string(reasoning),
                "reasoning": reasoning.isEmpty ? nil : .string(reasoning),
                "tool_calls": calls.isEmpty ? nil : .array(calls),
            ])
            choice = .object(["index": .number(0), "message": message, "logprobs": .null, "finish_reason": .string(outcome.finishReason)])
        } else {
            choice = .object(["index": .number(0), "text": .string(content), "logprobs": .null, "finish_reason": .string(outcome.finishReason)])
        }
        return envelope(choices: [choice], object: chat ? "chat.completion" : "text_completion", usage: usage(outcome))
    }

    /// The chunk carrying `piece`.
    func chunk(_ piece: AnswerPiece) -> JSONValue {
        guard chat else {
            guard case .content(let text) = piece else { return chunk(delta: .object([:])) }
            return envelope(choices: [.object(["index": .number(0), "text": .string(text), "logprobs": .null, "finish_reason": .null])],
                            object: "text_completion")
        }
        switch piece {
        case .content(let text): return chunk(delta: .object(["content": .string(text)]))
        case .reasoning(let text): return chunk(delta: .object(["reasoning_content": .string(text), "reasoning": .string(text)]))
        case .toolCall(let call, let index):
            var entry = OpenAIWireFormat.json(for: call)
            if case .object(let members) = entry { entry = .object([(key: "index", value: .number(index))] + members) }
            return chunk(delta: .object(["tool_calls": .array([entry])]))
        }
    }

    /// A chat chunk with `delta`.
    func chunk(delta: JSONValue) -> JSONValue {
        envelope(choices: [.object(["index": .number(0), "delta": delta, "logprobs": .null, "finish_reason": .null])], object: "chat.completion.chunk")
    }

    /// The last chunk of the answer, with its `finish_reason`.
    func chunk(finishing outcome: CompletionOutcome) -> JSONValue {
        let finish = JSONValue.string(outcome.finishReason)
        if chat {
            return envelope(choices: [.object(["index": .number(0), "delta": .object([:]), "logprobs": .null, "finish_reason": finish])],
                            object: "chat.completion.chunk")
        }
        return envelope(choices: [.object(["index": .number(0), "text": .string(""), "logprobs": .null, "finish_reason": finish])],
                        object: "text_completion")
    }

    /// The chunk after the last with the token counts (`stream_options.include_usage`).
    func usageChunk(_ outcome: CompletionOutcome) -> JSONValue {
        envelope(choices: [], object: chat ? "chat.completion.chunk" : "text_completion", usage: usage(outcome))
    }

    private func usage(_ outcome: CompletionOutcome) -> JSONValue {
        let completion = outcome.summary?.generatedTokens ?? 0
        return .object(["prompt_tokens": .number(promptTokens), "completion_tokens": .number(completion),
                        "total_tokens": .number(promptTokens + completion)])
    }

    private func envelope(choices: [JSONValue], object: String, usage: JSONValue? = nil) -> JSONValue {
        .object(["id": .string(id), "object": .string(object), "created": .number(created), "model": .string(model),
                 "system_fingerprint": .string("magi"), "choices": .array(choices), "usage": usage])
    }
}

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
struct APIError: Error, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String
    let type: String
    let param: String?
    let code: String?

    init(status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    var description: String { message }

    var body: JSONValue {
        .object(["error": .object(["message": .string(message), "type": .string(type),
                                   "param": param.map(JSONValue.string) ?? .null, "code": code.map(JSONValue.string) ?? .null])])
    }
}

/// Answers every error — magi's, Hummingbird's (unknown route, body too large) and unexpected
/// ones — as a JSON body in OpenAI's error shape with the matching status.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return OpenAIServer.json(error.body, status: error.status)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "no route \(request.method) \(request.uri.path)"
            default: message = error.body ?? error.status.reasonPhrase
            }
            let code = error.status == .notFound ? "not_found" : nil
            return OpenAIServer.json(APIError(status: error.status, message, code: code).body, status: error.status)
        } catch {
            return OpenAIServer.json(APIError(status: .internalServerError, "\(error)", type: "server_error").body, status: .internalServerError)
        }
    }
}

/// Open connections, counted as they are accepted and closed, against the limit past which requests get 503.
final class ConnectionCount: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var value: Int { open.load(ordering: .relaxed) }
    func opened() { open.add(1, ordering: .relaxed) }
    func closed() { open.subtract(1, ordering: .relaxed) }
}

/// Counts connections for ``ConnectionLimitMiddleware``; past twice the limit it stops accepting (the
/// kernel's backlog holds the rest), so a flood cannot exhaust file descriptors.
struct CountedConnections: AvailableConnectionsDelegate {
    let count: ConnectionCount
    mutating func connectionOpened() { count.opened() }
    mutating func connectionClosed() { count.closed() }
    func isAcceptingNewConnections() -> Bool { count.value < 2 * count.limit }
}

/// Answers 503 to requests on connections past the limit (`--max-connections`).
struct ConnectionLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let connections: ConnectionCount

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard connections.value <= connections.limit else {
            throw APIError(status: .serviceUnavailable,
                           "the server is busy: \(connections.value) connections are open and it serves \(connections.limit) at once; try again later",
                           type: "server_error", code: "too_many_connections")
        }
        return try await next(request, context)
    }
}
