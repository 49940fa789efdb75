import Foundation
import MagiChat
import MagiEngine
import MagiTools
import Synchronization

/// One user turn with tools: the model answers; when it calls tools, each call is checked, allowed
/// or refused, run under its time limit, and its result (or error) appended in the chat format's
/// tool-result form; then the model goes on — until it answers without calling, the user stops the
/// turn, or ``maxSteps`` replies have been generated.
public struct AgentLoop: Sendable {
    public let model: any AgentModel
    public let runner: ToolRunner
    public let permissions: ToolPermissions
    /// Cuts long results to the token budget; nil keeps them whole.
    public let trimmer: ToolResultTrimmer?
    /// The most replies generated in one turn (so at most `maxSteps - 1` rounds of tool calls).
    public let maxSteps: Int

    public init(model: any AgentModel, runner: ToolRunner, permissions: ToolPermissions, trimmer: ToolResultTrimmer?, maxSteps: Int) {
        self.model = model
        self.runner = runner
        self.permissions = permissions
        self.trimmer = trimmer
        self.maxSteps = maxSteps
    }

    /// The tools as the chat format offers them.
    public var toolDefinitions: [ToolDefinition] {
        runner.registry.tools.map { tool in
            ToolDefinition(name: tool.name, description: tool.description,
                           parameters: (try? JSONValue(parsing: tool.parametersSchema)) ?? .object([]))
        }
    }

    /// Runs the turn after `messages` (which end with the user's message).
    ///
    /// - Parameters:
    ///   - stop: polled while generating and while tools run (Ctrl-C).
    ///   - output: the reply's text, reasoning and calls as they stream, and the loop's own events.
    /// - Throws: what the model throws (a prompt too long for the context window, say).
    public func run(after messages: [ChatMessage], stop: StopFlag,
                    output: @escaping @Sendable (AgentEvent) -> Void) async throws -> AgentTurn {
        var conversation = Conversation(messages: messages, tools: toolDefinitions)
        var turn = AgentTurn()
        for step in 1...max(1, maxSteps) {
            let malformed = MalformedCalls()
            var reply = try await model.reply(to: conversation, stop: stop) { event in
                if case .malformedToolCall(let call) = event { malformed.add(call) }
                output(.stream(event))
            }
            // A call the parser could not read goes back to the model as a call with an error result.
            let broken = runner.registry.isEmpty ? [] : malformed.calls
            reply.message.toolCalls += broken.map {
                ToolCall(id: StreamParser.randomCallID(), name: Self.calledName(in: $0.text) ?? "unknown", arguments: $0.text)
            }
            // The same tools every step: their notices once a turn.
            if step == 1 { for notice in reply.notices { output(.notice(notice)) } }
            turn.add(reply)
            conversation.messages.append(reply.message)
            let calls = reply.message.toolCalls
            if reply.wasInterrupted || calls.isEmpty { return turn }
            guard !runner.registry.isEmpty else {
                output(.notice("the model called \(calls.map(\.name).joined(separator: ", ")), but no tools are enabled (see --tools)"))
                return turn
            }
            guard step < maxSteps else {
                output(.notice("stopped after \(maxSteps) steps: the model was still calling tools (raise --max-tool-steps)"))
                return turn
            }
            let readable = Array(calls.dropLast(broken.count))
            let unreadable = zip(calls.suffix(broken.count), broken).map { call, problem in
                ChatMessage.toolResult("error: the call could not be read (\(problem.reason)); write it again as valid JSON",
                                       callID: call.id, name: call.name)
            }
            let results = await runCalls(readable, stop: stop, output: output) + unreadable
            turn.messages += results
            conversation.messages += results
            if stop.isStopped {
                turn.wasInterrupted = true
                return turn
            }
        }
        return turn
    }

    /// The function name in a call the parser could not read: before `[ARGS]` (Mistral), or the
    /// `"name"` member of the JSON (Hermes).
    public static func calledName(in text: String) -> String? {
        if let args = text.range(of: "[ARGS]") {
            let name = text[..<args.lowerBound].trimmingCharacters(in: .whitespaces)
            return name.isEmpty ? nil : name
        }
        guard let key = text.range(of: "\"name\"") else { return nil }
        let rest = text[key.upperBound...].drop { $0 == " " || $0 == ":" }
        guard rest.first == "\"" else { return nil }
        let name = rest.dropFirst().prefix { $0 != "\"" }
        return name.isEmpty ? nil : String(name)
    }

    /// Asks permission for each call in order, then runs the allowed ones in parallel; the results
    /// come back in call order.
    private func runCalls(_ calls: [ToolCall], stop: StopFlag,
                          output: @escaping @Sendable (AgentEvent) -> Void) async -> [ChatMessage] {
        var refusals: [ToolError?] = []
        for call in calls {
            output(.toolCall(call))
            if let tool = runner.registry[call.name] {
                refusals.append(await permissions.refusal(for: tool, arguments: call.arguments))
            } else {
                refusals.append(nil)  // the runner reports the unknown name
            }
        }
        let outcomes = await withTaskGroup(of: (Int, Result<String, ToolError>).self) { group in
            for (index, call) in calls.enumerated() {
                group.addTask { [runner, refusal = refusals[index]] in
                    if let refusal { return (index, .failure(refusal)) }
                    return (index, await runner.run(call.name, arguments: call.arguments, shouldStop: { stop.isStopped }))
                }
            }
            var outcomes = [Result<String, ToolError>](repeating: .failure(.cancelled), count: calls.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        return zip(calls, outcomes).map { call, outcome in
            output(.toolResult(call, outcome))
            let text: String
            switch outcome {
            case .success(let result): text = trimmer?.trim(result) ?? result
            case .failure(let error): text = "error: \(error)"
            }
            return .toolResult(text, callID: call.id, name: call.name)
        }
    }
}

/// The unreadable calls of one reply, collected from its stream.
private final class MalformedCalls: Sendable {
    private let collected = Mutex<[MalformedToolCall]>([])
    func add(_ call: MalformedToolCall) { collected.withLock { $0.append(call) } }
    var calls: [MalformedToolCall] { collected.withLock { $0 } }
}

/// What a turn with tools added to the conversation.
public struct AgentTurn: Sendable {
    /// The assistant messages and tool results, in order.
    public var messages: [ChatMessage] = []
    /// The text of the last reply (the answer the user reads).
    public var answer: String = ""
    /// The user stopped the turn.
    public var wasInterrupted = false
    /// The last reply's generation summary, when an engine generated it.
    public var summary: GenerationSummary?

    public init() {}

    /// Adds `reply`: its message, its answer, whether it was stopped, its summary.
    public mutating func add(_ reply: AgentReply) {
        messages.append(reply.message)
        answer = reply.message.content
        wasInterrupted = reply.wasInterrupted
        if let s = reply.summary { summary = s }
    }
}

/// What the loop reports as it goes, for the transcript (and `--json` events later).
public enum AgentEvent: Sendable {
    /// Reasoning, answer text or a parsed call, as the model streams it.
    case stream(StreamEvent)
    /// A call about to be checked and run.
    case toolCall(ToolCall)
    /// How a call ended (before trimming).
    case toolResult(ToolCall, Result<String, ToolError>)
    /// Something the user should know (steps exhausted).
    case notice(String)
}
