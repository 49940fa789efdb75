import Foundation
import MagiChat
import MagiEngine
import MagiTools
import Testing
@testable import MagiCLI

/// The agent loop through the real engine and the default model (SmolLM2-135M, ChatML, greedy):
/// its first reply must be a call (`--tool-choice required`), constrained by the tools' call grammar; the call is
/// parsed from the stream, checked, run and its result rendered back, and the model answers.
@Suite(.serialized) struct AgentLoopModelTests {
    static var modelPath: String {
        (ProcessInfo.processInfo.environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi") + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: modelPath)))
    func theDefaultModelCallsAToolAndAnswers() async throws {
        let local = try LocalModel(path: Self.modelPath)
        let turn = ChatTurn(model: local, session: InferenceSession(model: local.model, contextSize: 2048, threads: 2))
        let registry = ToolRegistry([AdderTool()])
        let setup = ToolSetup(runner: ToolRunner(registry: registry), permissions: ToolPermissions(), trimmer: nil, maxSteps: 3)
        let definitions = setup.loop(model: ScriptedModel([])).toolDefinitions
        let calls = try #require(try ToolCallGrammar(format: .chatML, tools: definitions, tokenizer: local.tokenizer))
        #expect(calls.trigger.texts == ["<tool_call>"])
        // "--tool-choice required": the first reply is a call; the next one is free (a lazy call grammar).
        let model = LocalAgentModel(turn: turn, sampling: .greedy, maxTokens: 60, answerConstraint: nil, constrainsToolCalls: true,
                                    requiresCall: true)
        let log = EventLog()
        let result = try await setup.loop(model: model).run(after: [.user("What is 17 + 25? Use the add tool.")], shouldStop: { false },
                                                            output: { log.add($0) })
        let call = try #require(result.messages.first?.toolCalls.first)
        #expect(call.name == "add")
        let arguments = try JSONValue(parsing: call.arguments)
        let (a, b) = (try #require(arguments["a"]?.number), try #require(arguments["b"]?.number))
        #expect(result.messages[1] == .toolResult(String(Int(a + b)), callID: call.id, name: "add"))
        #expect(result.messages.count == 3 && !result.answer.isEmpty)
        #expect(log.lines.first?.hasPrefix("⚙ add {") == true)
    }
}
