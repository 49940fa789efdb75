import Foundation
import MagiChat
import Testing

/// The remote backend's client against a loopback server that answers in the shapes vLLM, llama.cpp's
/// server and Mistral's API use (Fixtures/remote/openai_shapes.py), and its server-sent-events reader.
@Suite(.serialized) struct RemoteChatClientTests {
    /// The loopback server, started once for the suite.
    static let server = Result { try ShapesServer() }

    func client(_ model: String, apiKey: String? = nil, timeout: Duration = .seconds(30)) throws -> RemoteChatClient {
        RemoteChatClient(baseURL: try Self.server.get().base + "/v1/", model: model, apiKey: apiKey, timeout: timeout,
                         backoff: .milliseconds(10))
    }

    /// The reply to one question, and the events streamed on the way.
    func ask(_ client: RemoteChatClient, _ conversation: Conversation = Conversation(messages: [.user("Capital of France?")]),
             options: RemoteChatClient.Options = .init()) async throws -> (RemoteChatClient.Reply, [StreamEvent]) {
        let events = Events()
        let reply = try await client.reply(to: conversation, options: options, shouldStop: { false }, output: { events.add($0) })
        return (reply, events.all)
    }

    @Test func vLLMReasoningFieldStreamsApartFromTheAnswer() async throws {
        let (reply, events) = try await ask(try client("vllm"))
        #expect(reply.message.reasoning == "Paris is the capital.")
        #expect(reply.message.content == "It is Paris.")
        #expect(events == [.reasoning("Paris is "), .reasoning("the capital."), .text("It is "), .text("Paris.")])
        #expect(reply.finishReason == "stop" && reply.promptTokens == 11 && reply.completionTokens == 7)
    }

    @Test func llamaCppReasoningContentAndLengthFinish() async throws {
        let (reply, _) = try await ask(try client("llamacpp"))
        #expect(reply.message.reasoning == "Think.")
        #expect(reply.message.content == "Answer.")
        #expect(reply.finishReason == "length")
    }

    @Test func mistralThinkingChunks() async throws {
        let (reply, _) = try await ask(try client("mistral"))
        #expect(reply.message.reasoning == "Hmm, yes.")
        #expect(reply.message.content == "Yes.")
    }

    @Test func thinkMarkersInTheTextSplitAcrossChunks() async throws {
        let (reply, _) = try await ask(try client("think-tags"))
        #expect(reply.message.reasoning == "a b")
        #expect(reply.message.content == "The answer")
    }

    @Test func toolCallsStreamedInPiecesAreJoinedByIndex() async throws {
        let (reply, events) = try await ask(try client("tools"))
        let calls = [ToolCall(id: "call_a", name: "get_weather", arguments: #"{"city": "Paris"}"#), ToolCall(id: "call_b", name: "get_time", arguments: "{}")]
        #expect(reply.message.toolCalls == calls)
        #expect(events == calls.map(StreamEvent.toolCall))
        #expect(reply.finishReason == "tool_calls")
    }

    @Test func rateLimitsAreRetriedAndServerErrorsReportedAfterRetries() async throws {
        let (reply, _) = try await ask(try client("flaky"))
        #expect(reply.message.content == "finally")
        await #expect(throws: RemoteError.refused(status: 503, url: try Self.server.get().base + "/v1/chat/completions", message: "overloaded")) {
            _ = try await ask(try client("down"))
        }
    }

    @Test func refusalsAndFailuresAreOneLineErrors() async throws {
        let base = try Self.server.get().base
        do {
            _ = try await ask(try client("auth"))
            Issue.record("no error")
        } catch let error as RemoteError {
            #expect("\(error)" == "\(base)/v1/chat/completions refused the API key (401): Incorrect API key provided; set it in the environment variable the remote names (see magi --help)")
        }
        do {
            _ = try await ask(try client("no-such-model"))
            Issue.record("no error")
        } catch let error as RemoteError {
            #expect("\(error)" == "\(base)/v1/chat/completions has no such model or route (404): The model 'no-such-model' does not exist")
        }
        await #expect(throws: RemoteError.refused(status: 500, url: "the server", message: "the engine crashed")) {
            _ = try await ask(try client("midstream"))
        }
        await #expect(throws: RemoteError.timedOut(url: base + "/v1/chat/completions", seconds: 1)) {
            _ = try await ask(try client("slow", timeout: .seconds(1)))
        }
        let unreachable = RemoteChatClient(baseURL: "http://127.0.0.1:1/v1", model: "m", apiKey: nil, retries: 0)
        await #expect(throws: RemoteError.unreachable(url: "http://127.0.0.1:1/v1/chat/completions", reason: "Couldn't connect to server")) {
            _ = try await ask(unreachable)
        }
    }

    @Test func theRequestCarriesMessagesToolsFormatImagesAndTheKey() async throws {
        let png = FileManager.default.temporaryDirectory.appendingPathComponent("magi-\(UUID().uuidString).png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: png)
        defer { try? FileManager.default.removeItem(at: png) }
        var question = ChatMessage.user("What is this?")
        question.parts.append(.image(try ImageAttachment(path: png.path)))
        let weather = ToolDefinition(name: "get_weather", description: "Weather.", parameters: try JSONValue(parsing: #"{"type": "object", "properties": {"city": {"type": "string"}}}"#))
        let conversation = Conversation(messages: [.system("Be brief."), .user("Hi"),
                                                   .assistant("Hello", reasoning: "greet", toolCalls: [ToolCall(id: "c1", name: "get_weather", arguments: "{}")]),
                                                   .toolResult("sunny", callID: "c1", name: "get_weather"), question], tools: [weather])
        var options = RemoteChatClient.Options()
        options.temperature = 0.7
        options.maxTokens = 12
        options.responseFormat = .object(["type": .string("json_object")])
        options.requiresToolCall = true
        let (reply, _) = try await ask(try client("echo", apiKey: "k-123"), conversation, options: options)
        let echo = try JSONValue(parsing: reply.message.content)
        #expect(echo["authorization"] == .string("Bearer k-123"))
        let body = try #require(echo["body"])
        let expected = try JSONValue(parsing: """
            {"model": "echo", "messages": [
              {"role": "system", "content": "Be brief."},
              {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": "Hello", "reasoning_content": "greet",
               "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
              {"role": "tool", "content": "sunny", "tool_call_id": "c1", "name": "get_weather"},
              {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                           {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoBAgM="}}]}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
             "tool_choice": "required", "stream": true, "stream_options": {"include_usage": true},
             "temperature": 0.7, "max_tokens": 12, "response_format": {"type": "json_object"}}
            """)
        #expect(body == expected, "\(body.compactText)")
    }

    @Test func theModelsListComesFromTheServer() async throws {
        #expect(try await client("any").models() == ["vllm", "tools"])
    }

    @Test func serverSentEventsFollowTheStandardWhateverTheChunking() throws {
        let stream = ": comment\r\ndata: one\r\n\r\nevent: x\ndata: two\ndata:  three\n\ndata\n\nid: 7\ndata: {\"a\": 1}\n\ndata: tail"
        let expected = ["one", "two\n three", "", #"{"a": 1}"#, "tail"]
        for size in [1, 2, 3, 7, 1000] {
            var reader = ServerSentEvents()
            var events: [String] = []
            let bytes = Array(stream.utf8)
            for start in stride(from: 0, to: bytes.count, by: size) { events += try reader.append(bytes[start..<min(start + size, bytes.count)]) }
            events += reader.finish()
            #expect(events == expected, "pieces of \(size) bytes")
        }
    }

    /// A server streaming without end — one line, or chunks of an answer — is cut at the client's
    /// limits with the limit named, and the transfer ends.
    @Test func endlessStreamsAreCutAtTheirLimits() async throws {
        var line = try client("endless-line")
        line.maxEventBytes = 64 << 10
        await #expect(throws: RemoteError.eventTooLarge(limit: 64 << 10)) { _ = try await ask(line) }
        var answer = try client("endless")
        answer.maxAnswerBytes = 1 << 20
        await #expect(throws: RemoteError.answerTooLarge(limit: 1 << 20)) { _ = try await ask(answer) }
        #expect("\(RemoteError.answerTooLarge(limit: 256 << 20))" == "remote answer exceeds 256 MiB")
    }

    /// An event is held until its blank line: a line, or an event of many lines, past the limit is
    /// refused with the limit named, while any number of events under it pass.
    @Test func anEventPastTheLimitIsRefused() throws {
        var reader = ServerSentEvents(limit: 64)
        for _ in 0..<1_000 { #expect(try reader.append(Array(("data: " + String(repeating: "y", count: 50) + "\n\n").utf8)).count == 1) }
        var line = ServerSentEvents(limit: 64)
        #expect(throws: ServerSentEvents.EventTooLarge(limit: 64)) { _ = try line.append(Array(("data: " + String(repeating: "x", count: 100)).utf8)) }
        var lines = ServerSentEvents(limit: 64)
        #expect(throws: ServerSentEvents.EventTooLarge(limit: 64)) {
            for _ in 0..<10 { _ = try lines.append(Array("data: 0123456789\n".utf8)) }
        }
        var comment = ServerSentEvents(limit: 64)
        #expect(throws: ServerSentEvents.EventTooLarge.self) { _ = try comment.append([UInt8](repeating: 0x3A, count: 65)) }
        #expect(ServerSentEvents().limit == 8 << 20 && "\(ServerSentEvents.EventTooLarge(limit: 8 << 20))" == "remote event exceeds 8 MiB")
    }
}

/// Events collected from the client's output callback.
final class Events: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [StreamEvent] = []
    func add(_ event: StreamEvent) { lock.withLock { events.append(event) } }
    var all: [StreamEvent] { lock.withLock { events } }
}

/// Fixtures/remote/openai_shapes.py on a free loopback port.
final class ShapesServer: @unchecked Sendable {
    let process = Process()
    let base: String

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/remote/openai_shapes.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = Pipe()  // closed when this process ends, which ends the server
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile)
        }
        base = "http://127.0.0.1:\(port)"
    }

    deinit { process.terminate() }
}
