import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import MagiTools
import Testing
@testable import MagiCLI

/// A test double for the model only: replies from a script, one per step, recording the
/// conversations it was shown.
final class ScriptedModel: AgentModel, @unchecked Sendable {
    private let lock = NSLock()
    private var script: [ChatMessage]
    private(set) var seen: [Conversation] = []

    init(_ script: [ChatMessage]) { self.script = script }

    func reply(to conversation: Conversation, stop: StopFlag,
               output: @escaping @Sendable (StreamEvent) -> Void) async throws -> AgentReply {
        let message = lock.withLock { () -> ChatMessage in
            seen.append(conversation)
            return script.isEmpty ? .assistant("(script exhausted)") : script.removeFirst()
        }
        if !message.content.isEmpty { output(.text(message.content)) }
        for call in message.toolCalls { output(.toolCall(call)) }
        return AgentReply(message: message, wasInterrupted: false, summary: nil)
    }
}

struct AdderTool: Tool {
    let name = "add"
    let description = "Adds two integers."
    let parametersSchema = #"{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}"#
    func run(arguments: String) async throws -> String {
        let json = try JSONValue(parsing: arguments)
        return String(Int(json["a"]!.number! + json["b"]!.number!))
    }
}

struct NetworkTool: Tool {
    let name = "lookup"
    let description = "Looks something up online."
    let parametersSchema = #"{"type": "object"}"#
    let access: ToolAccess = .network
    func run(arguments: String) async throws -> String { String(repeating: "word ", count: 500) }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []
    func add(_ event: AgentEvent) {
        let line: String
        switch event {
        case .stream(.text(let t)): line = "text: " + t
        case .stream: return
        case .toolCall(let call): line = ToolTranscript.callLine(call)
        case .toolResult(_, let outcome): line = ToolTranscript.resultLine(outcome)
        case .notice(let text): line = "notice: " + text
        }
        lock.withLock { events.append(line) }
    }
    var lines: [String] { lock.withLock { events } }
}

@Suite struct AgentLoopTests {
    func loop(_ model: ScriptedModel, tools: [any Tool] = [AdderTool(), NetworkTool()], permissions: ToolPermissions = ToolPermissions(),
              maxSteps: Int = 4) -> AgentLoop {
        AgentLoop(model: model, runner: ToolRunner(registry: ToolRegistry(tools)), permissions: permissions,
                  trimmer: ToolResultTrimmer(maxTokens: 50, countTokens: { $0.split(separator: " ").count }), maxSteps: maxSteps)
    }

    @Test func aCallIsRunAndItsResultFedBack() async throws {
        let call = ToolCall(id: "abc123XYZ", name: "add", arguments: #"{"a": 2, "b": 40}"#)
        let model = ScriptedModel([.assistant("", toolCalls: [call]), .assistant("2 + 40 = 42.")])
        let log = EventLog()
        let turn = try await loop(model).run(after: [.user("What is 2 + 40?")], stop: StopFlag(), output: { log.add($0) })
        #expect(turn.answer == "2 + 40 = 42.")
        #expect(turn.messages == [.assistant("", toolCalls: [call]), .toolResult("42", callID: "abc123XYZ", name: "add"), .assistant("2 + 40 = 42.")])
        #expect(model.seen.count == 2)
        #expect(model.seen[0].tools.map(\.name) == ["add", "lookup"])
        #expect(model.seen[1].messages.last == .toolResult("42", callID: "abc123XYZ", name: "add"))
        #expect(log.lines == [#"⚙ add {"a": 2, "b": 40}"#, "  → 42", "text: 2 + 40 = 42."])
    }

    @Test func errorsGoBackToTheModelAsResults() async throws {
        let calls = [ToolCall(id: "1", name: "add", arguments: #"{"a": "two", "b": 1}"#),
                     ToolCall(id: "2", name: "multiply", arguments: "{}"),
                     ToolCall(id: "3", name: "lookup", arguments: "{}")]
        let model = ScriptedModel([.assistant("", toolCalls: calls), .assistant("Sorry.")])
        let turn = try await loop(model).run(after: [.user("?")], stop: StopFlag(), output: { _ in })
        #expect(turn.messages[1...3].map(\.content) == [
            "error: invalid arguments: arguments.a should be integer, not string",
            "error: no tool named 'multiply'; the tools are: add, lookup",
            "error: not run: 'lookup' uses network and needs permission: pass --yes or --allow-tool lookup",
        ])
        #expect(turn.answer == "Sorry.")
    }

    @Test func resultsAreTrimmedToTheBudget() async throws {
        let model = ScriptedModel([.assistant("", toolCalls: [ToolCall(id: "1", name: "lookup", arguments: "{}")]), .assistant("Done.")])
        let turn = try await loop(model, permissions: ToolPermissions(allowAll: true)).run(after: [.user("?")], stop: StopFlag(), output: { _ in })
        #expect(turn.messages[1].content.hasSuffix("[result trimmed to 50 of 500 tokens]"))
    }

    @Test func theLoopStopsAfterMaxSteps() async throws {
        let call = ToolCall(id: "1", name: "add", arguments: #"{"a": 1, "b": 1}"#)
        let model = ScriptedModel(Array(repeating: .assistant("", toolCalls: [call]), count: 5))
        let log = EventLog()
        let turn = try await loop(model, maxSteps: 3).run(after: [.user("?")], stop: StopFlag(), output: { log.add($0) })
        #expect(model.seen.count == 3)
        #expect(turn.messages.count == 5)
        #expect(log.lines.last == "notice: stopped after 3 steps: the model was still calling tools (raise --max-tool-steps)")
    }

    @Test func withoutToolsACallIsOnlyReported() async throws {
        let model = ScriptedModel([.assistant("", toolCalls: [ToolCall(id: "1", name: "add", arguments: "{}")])])
        let log = EventLog()
        _ = try await loop(model, tools: []).run(after: [.user("?")], stop: StopFlag(), output: { log.add($0) })
        #expect(log.lines == ["notice: the model called add, but no tools are enabled (see --tools)"])
    }
}

/// A model whose first reply streams a call the parser could not read.
struct BrokenCallModel: AgentModel {
    let scripted: ScriptedModel
    func reply(to conversation: Conversation, stop: StopFlag,
               output: @escaping @Sendable (StreamEvent) -> Void) async throws -> AgentReply {
        if conversation.messages.count == 1 {
            output(.malformedToolCall(MalformedToolCall(text: #"{"name": "add", "arguments": {"a": 1"#, reason: "unterminated object")))
            return AgentReply(message: .assistant(""), wasInterrupted: false, summary: nil)
        }
        return try await scripted.reply(to: conversation, stop: stop, output: output)
    }
}

@Suite struct AgentLoopMalformedCallTests {
    @Test func anUnreadableCallGoesBackToTheModel() async throws {
        let scripted = ScriptedModel([.assistant("Let me fix that.")])
        let loop = AgentLoop(model: BrokenCallModel(scripted: scripted), runner: ToolRunner(registry: ToolRegistry([AdderTool()])),
                             permissions: ToolPermissions(), trimmer: nil, maxSteps: 3)
        let turn = try await loop.run(after: [.user("1+?")], stop: StopFlag(), output: { _ in })
        let call = try #require(turn.messages.first?.toolCalls.first)
        #expect(call.name == "add" && call.arguments == #"{"name": "add", "arguments": {"a": 1"#)
        #expect(turn.messages[1] == .toolResult("error: the call could not be read (unterminated object); write it again as valid JSON",
                                               callID: call.id, name: "add"))
        #expect(turn.answer == "Let me fix that.")
        #expect(AgentLoop.calledName(in: #"get_weather[ARGS]{"city": "#) == "get_weather")
        #expect(AgentLoop.calledName(in: "{}") == nil)
    }
}

/// Calls that can only finish together: each waits until `expected` calls have started (or a
/// twenty seconds have passed, then reports that it ran alone), so calls run one after another never meet.
final class Rendezvous: @unchecked Sendable {
    private let lock = NSLock()
    private var arrived = 0
    let expected: Int

    init(expected: Int) { self.expected = expected }

    func arrive() async -> Bool {
        lock.withLock { arrived += 1 }
        for _ in 0..<2000 {
            if lock.withLock({ arrived >= expected }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

struct MeetingTool: Tool {
    let name = "meet"
    let description = "Waits for the other calls of its step."
    let parametersSchema = #"{"type": "object"}"#
    let rendezvous: Rendezvous
    func run(arguments: String) async throws -> String { await rendezvous.arrive() ? "met" : "alone" }
}

@Suite struct AgentLoopParallelTests {
    @Test func callsOfOneStepRunInParallelAndKeepTheirOrder() async throws {
        let calls = (1...3).map { ToolCall(id: "\($0)", name: "meet", arguments: "{}") }
        let tool = MeetingTool(rendezvous: Rendezvous(expected: 3))
        let loop = AgentLoop(model: ScriptedModel([.assistant("", toolCalls: calls), .assistant("Done.")]),
                             runner: ToolRunner(registry: ToolRegistry([tool])), permissions: ToolPermissions(), trimmer: nil, maxSteps: 2)
        let turn = try await loop.run(after: [.user("?")], stop: StopFlag(), output: { _ in })
        #expect(turn.messages[1...3].map(\.content) == ["met", "met", "met"])
        #expect(turn.messages[1...3].map(\.toolCallID) == ["1", "2", "3"])
    }
}
