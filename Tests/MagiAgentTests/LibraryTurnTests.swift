import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import MagiJSON
import Testing

/// Chat turns run through MagiAgent alone, as another Swift program would run them: no MagiCLI,
/// the default model (SmolLM2-135M-Instruct Q4_1, ChatML), greedy decoding and small budgets.
@Suite(.serialized) struct LibraryTurnTests {
    static let environment = ProcessInfo.processInfo.environment
    static var magiHome: String { environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi" }
    static var modelPath: String { magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var python: String { environment["MAGI_PYTHON"] ?? magiHome + "/venv/bin/python" }
    /// In CI a missing model (or Python with `jsonschema`) fails these tests instead of skipping them.
    static var hasModel: Bool { environment["CI"] != nil || FileManager.default.fileExists(atPath: modelPath) }
    static var hasPython: Bool { environment["CI"] != nil || FileManager.default.isExecutableFile(atPath: python) }
    static let model: Result<LocalModel, Error> = Result { try LocalModel(path: modelPath) }

    func turn(contextSize: Int = 1024) throws -> ChatTurn {
        let local = try Self.model.get()
        return ChatTurn(model: local, session: InferenceSession(model: local.model, contextSize: contextSize, threads: 2))
    }

    /// The turn's events are its text as decoded, then one end; the text is what the engine generates
    /// for the same prompt when driven directly, and the end's usage and finish reason match it.
    @Test(.enabled(if: hasModel)) func aGreedyTurnStreamsTheEngineTextThenItsEnd() async throws {
        let turn = try turn()
        let conversation = Conversation(messages: [.user("What is the capital of France?")])
        let promptLength = try turn.measure(conversation)
        let model = LocalAgentModel(turn: turn, sampling: .greedy, maxTokens: 24, answerConstraint: nil, constrainsToolCalls: false)
        let (notices, events) = try model.stream(conversation)
        #expect(notices.isEmpty)
        var streamed = "", ends: [ChatTurn.Reply] = [], afterEnd = 0
        for try await event in events {
            if !ends.isEmpty { afterEnd += 1 }
            switch event {
            case .text(let piece): streamed += piece
            case .end(let reply): ends.append(reply)
            case .reasoning, .toolCall, .malformedToolCall: Issue.record("unexpected event \(event)")
            }
        }
        let end = try #require(ends.first)
        #expect(ends.count == 1 && afterEnd == 0)
        #expect(streamed == end.text)
        #expect(end.summary.promptTokens == promptLength)
        #expect((1...24).contains(end.summary.generatedTokens))
        #expect(end.finishReason == (end.summary.reason == .endOfGeneration ? .stop : .length))

        // The reference: the engine's loop alone on a fresh session, tokens decoded by the tokenizer.
        let local = try Self.model.get()
        let session = InferenceSession(model: local.model, contextSize: 1024, threads: 2)
        var tokens: [Int32] = []
        let prompt = try local.promptTokens(for: conversation)
        #expect(prompt.count == promptLength)
        let summary = try session.runGeneration(GenerationRequest(prompt: prompt, sampling: .greedy, maxTokens: 24, stopTokens: local.stopTokens),
                                                sampler: Sampler(.greedy)) { tokens.append($0) }
        #expect(summary.generatedTokens == end.summary.generatedTokens && summary.reason == end.summary.reason)
        #expect(local.tokenizer.decode(tokens) == end.text)
    }

    /// The prompt ``ChatTurn/measure(_:)`` tokenized for the window is the one the turn generates from.
    @Test(.enabled(if: hasModel)) func aMeasuredPromptIsTheRenderedPrompt() throws {
        let turn = try turn()
        let local = try Self.model.get()
        let conversation = Conversation(messages: [.system("Be brief."), .user("Hello"), .assistant("Hi."), .user("Name a colour.")])
        let count = try turn.measure(conversation)
        #expect(try turn.promptTokens(for: conversation) == local.promptTokens(for: conversation))
        #expect(count == (try local.promptTokens(for: conversation).count))
        var longer = conversation
        longer.messages.append(.assistant("Blue."))
        #expect(try turn.promptTokens(for: longer) == local.promptTokens(for: longer))
        let tiny = try self.turn(contextSize: 8)
        #expect(throws: ChatTurnError.self) { try tiny.promptTokens(for: conversation) }
    }

    /// A reply that must call a tool (`--tool-choice required`) is one call of the offered tool, its
    /// arguments valid by Python's `jsonschema` against the tool's schema; the stream reports that call.
    @Test(.enabled(if: hasModel && hasPython)) func aForcedToolCallHasArgumentsTheSchemaAccepts() async throws {
        let turn = try turn(contextSize: 2048)
        let schema = try JSONValue(parsing: #"""
            {"type": "object", "properties": {"city": {"type": "string", "minLength": 1, "maxLength": 30},
             "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"], "additionalProperties": false}
            """#)
        let tools = [ToolDefinition(name: "get_weather", description: "The current weather in a city.", parameters: schema)]
        let model = LocalAgentModel(turn: turn, sampling: .greedy, maxTokens: 96, answerConstraint: nil, constrainsToolCalls: true,
                                    requiresCall: true)
        let streamed = CallLog()
        let reply = try await model.reply(to: Conversation(messages: [.user("What is the weather in Paris?")], tools: tools),
                                          stop: StopFlag()) { event in
            if case .toolCall(let call) = event { streamed.add(call) }
        }
        let calls = reply.message.toolCalls
        #expect(!reply.wasInterrupted && reply.summary?.endedInsideConstraint == false)
        #expect(calls.count == 1 && calls.first?.name == "get_weather")
        #expect(streamed.calls == calls)
        let call = try #require(calls.first)
        let verdict = try Self.jsonschemaVerdict(schema: schema, instance: call.arguments)
        #expect(verdict == "valid", "\(call.arguments): \(verdict)")
    }

    /// Setting the stop flag mid-reply ends it as cancelled within a few tokens, and the session is
    /// free when the reply comes back: nothing decodes after, and the next turn runs on it.
    @Test(.enabled(if: hasModel)) func theStopFlagEndsAReplyAndFreesTheSession() async throws {
        let turn = try turn()
        let prompt = try turn.promptTokens(for: [.user("Tell me a long story about a dragon.")])
        let stop = StopFlag()
        let pieces = CallLog()
        let reply = try await turn.generate(prompt: prompt, sampling: .greedy, maxTokens: 400, stop: stop) { event in
            if case .text = event, pieces.tick() == 3 { stop.stop() }
        }
        #expect(reply.wasInterrupted && reply.finishReason == .cancelled)
        #expect(reply.summary.generatedTokens >= 3 && reply.summary.generatedTokens < 3 + 100, "\(reply.summary.generatedTokens) tokens")
        let count = turn.session.tokens.count
        try await Task.sleep(for: .milliseconds(300))
        #expect(turn.session.tokens.count == count, "the session went on decoding after the reply came back")
        let next = try await turn.generate(prompt: prompt, sampling: .greedy, maxTokens: 4, output: { _ in })
        #expect(next.summary.generatedTokens == 4 && !next.wasInterrupted)
    }

    /// Cancelling the task that awaits a reply stops generation the same way: the reply so far
    /// comes back as cancelled, once the engine has stopped.
    @Test(.enabled(if: hasModel)) func cancellingTheTaskEndsAReplyAndFreesTheSession() async throws {
        let turn = try turn()
        let prompt = try turn.promptTokens(for: [.user("Tell me a long story about a dragon.")])
        let pieces = CallLog()
        let task = Task { try await turn.generate(prompt: prompt, sampling: .greedy, maxTokens: 400) { _ in _ = pieces.tick() } }
        while pieces.count < 3 && turn.session.tokens.count < prompt.count + 400 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let reply = try await task.value
        #expect(reply.wasInterrupted, "stop reason \(reply.summary.reason)")
        #expect(reply.summary.generatedTokens < 3 + 100, "\(reply.summary.generatedTokens) tokens")
        let count = turn.session.tokens.count
        try await Task.sleep(for: .milliseconds(300))
        #expect(turn.session.tokens.count == count, "the session went on decoding after the reply came back")
    }

    /// Dropping a turn's stream stops its generation before long.
    @Test(.enabled(if: hasModel)) func droppingTheStreamStopsGeneration() async throws {
        let turn = try turn()
        let prompt = try turn.promptTokens(for: [.user("Tell me a long story about a dragon.")])
        var seen = 0
        for try await event in turn.stream(prompt: prompt, sampling: .greedy, maxTokens: 400) {
            if case .text = event { seen += 1 }
            if seen == 3 { break }
        }
        var count = -1
        while count != turn.session.tokens.count {
            count = turn.session.tokens.count
            try await Task.sleep(for: .milliseconds(150))
        }
        #expect(count < prompt.count + 3 + 100, "generation went on to \(count - prompt.count) tokens after the stream was dropped")
    }

    /// Python `jsonschema`'s verdict on `instance` (JSON text) against `schema`: "valid", or why not.
    static func jsonschemaVerdict(schema: JSONValue, instance: String) throws -> String {
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator
            request = json.loads(sys.stdin.read())
            errors = [e.message for e in Draft202012Validator(request["schema"]).iter_errors(json.loads(request["instance"]))]
            print("valid" if not errors else "; ".join(errors))
            """
        let input = JSONValue.object([(key: "schema", value: schema), (key: "instance", value: .string(instance))]).compactText
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        let (stdin, stdout) = (Pipe(), Pipe())
        process.standardInput = stdin
        process.standardOutput = stdout
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        if exited.wait(timeout: .now() + 120) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            return "python timed out"
        }
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else { return "python failed with status \(process.terminationStatus)" }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// What a stream's callback saw, from the thread it runs on.
private final class CallLog: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var collected: [ToolCall] = []
    private var ticks = 0
    func add(_ call: ToolCall) { lock.withLock { collected.append(call) } }
    var calls: [ToolCall] { lock.withLock { collected } }
    /// Counts one event; returns the count so far.
    func tick() -> Int { lock.withLock { ticks += 1; return ticks } }
    var count: Int { lock.withLock { ticks } }
}
