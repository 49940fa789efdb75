import Foundation
import MagiAgent
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
        let result = try await setup.loop(model: model).run(after: [.user("What is 17 + 25? Use the add tool.")], stop: StopFlag(),
                                                            output: { log.add($0) })
        let call = try #require(result.messages.first?.toolCalls.first)
        #expect(call.name == "add")
        let arguments = try JSONValue(parsing: call.arguments)
        let (a, b) = (try #require(arguments["a"]?.number), try #require(arguments["b"]?.number))
        #expect(result.messages[1] == .toolResult(String(Int(a + b)), callID: call.id, name: "add"))
        #expect(result.messages.count == 3 && !result.answer.isEmpty)
        #expect(log.lines.first?.hasPrefix("⚙ add {") == true)
    }

    // MARK: - Tool-use prompts, constrained and free

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Tools with schemas of the usual kinds: enums, integers, numbers, bounded strings, a pattern, optional members.
    static let tools: [ToolDefinition] = [
        ("get_weather", #"{"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"], "additionalProperties": false}"#),
        ("add", #"{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"], "additionalProperties": false}"#),
        ("web_search", #"{"type": "object", "properties": {"query": {"type": "string", "maxLength": 24}, "recent": {"type": "boolean"}}, "required": ["query"], "additionalProperties": false}"#),
        ("set_reminder", #"{"type": "object", "properties": {"text": {"type": "string", "maxLength": 16}, "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}}, "required": ["text", "time"], "additionalProperties": false}"#),
    ].map { ToolDefinition(name: $0.0, description: "", parameters: try! JSONValue(parsing: $0.1)) }

    static let prompts = ["What's the weather in Paris, in celsius?", "Add 17 and 25.", "Search the web for the latest Swift release.",
                          "Remind me to call mom at 18:30.", "Is it raining in Oslo?", "What is 1234 plus 4321?"]

    /// Forces `trigger`, a token a step, once `after` tokens were sampled freely, unless the text already holds
    /// it (`triggered`); before that, keeps `banned` tokens (end of generation, control tokens) out, so the
    /// free text runs its course; once `trigger` (one token) was sampled `callLimit` times, keeps it out;
    /// `alwaysBanned` tokens never come. A test harness: it makes every run reach a call.
    struct ForcedCall: SamplerStage {
        let after: Int
        let trigger: [Int32]
        let banned: Set<Int32>
        var alwaysBanned: Set<Int32> = []
        var callLimit = Int.max
        let triggered: @Sendable ([Int32]) -> Bool
        var history: [Int32] = []
        var forcing = false

        mutating func apply(to c: inout TokenCandidates) {
            for i in 0..<c.count where alwaysBanned.contains(c.ids[i]) { c.logits[i] = -.infinity }
            let k = history.count - after
            if k < 0 {
                for i in 0..<c.count where banned.contains(c.ids[i]) { c.logits[i] = -.infinity }
                return
            }
            if k == 0 { forcing = !triggered(history) }
            if forcing && k < trigger.count {
                for i in 0..<c.count where c.ids[i] != trigger[k] { c.logits[i] = -.infinity }
            } else if trigger.count == 1 && history.filter({ $0 == trigger[0] }).count >= callLimit {
                for i in 0..<c.count where c.ids[i] == trigger[0] { c.logits[i] = -.infinity }
            }
        }

        mutating func accept(_ token: Int32) { history.append(token) }
        mutating func reset() { history.removeAll(); forcing = false }
    }

    struct Run {
        var tokens: [Int32]
        var calls: [ToolCall]
        var malformed: [MalformedToolCall]
        var reason: StopReason
    }

    enum Constraint { case none, lazy, requiredCall }

    /// Samples a reply to `prompt` at temperature 0.8 with `seed`, forced into a call after `after` free tokens;
    /// tool calls constrained lazily as in magi's agent loop, or the whole reply constrained to calls
    /// (`--tool-choice required`). `firstCallOnly` stops at the first call.
    static func run(_ local: LocalModel, _ session: InferenceSession, prompt: [Int32], forced: ForcedCall, seed: UInt64,
                    constraint: Constraint, maxTokens: Int, firstCallOnly: Bool) throws -> Run {
        var p = SamplingParameters()
        p.temperature = 0.8
        p.seed = seed
        var sampler = Sampler(stages: [forced] + Sampler(p).stages)
        if constraint != .none, let format = local.template.format,
           let calls = try ToolCallGrammar(format: format, tools: tools, tokenizer: local.tokenizer) {
            let trie = TokenTrie(tokenizer: local.tokenizer)
            sampler.prepend(constraint == .lazy ? GrammarConstraint(grammar: try calls.grammar(), trie: trie, lazyUntil: calls.trigger)
                                                : GrammarConstraint(grammar: try calls.grammar(requiringCall: true), trie: trie))
        }
        let stops = Set((0..<Int32(local.tokenizer.vocabularySize)).filter(local.tokenizer.isEndOfGeneration))
        var parser = TokenStreamParser(tokenizer: local.tokenizer)
        var result = Run(tokens: [], calls: [], malformed: [], reason: .maxTokens)
        func take(_ events: [StreamEvent]) {
            for e in events {
                if case .toolCall(let call) = e { result.calls.append(call) }
                if case .malformedToolCall(let m) = e { result.malformed.append(m) }
            }
        }
        session.reset()
        let summary = try session.runGeneration(GenerationRequest(prompt: prompt, sampling: p, maxTokens: maxTokens, stopTokens: stops),
                                                sampler: sampler, shouldStop: { firstCallOnly && !(result.calls.isEmpty && result.malformed.isEmpty) }) {
            result.tokens.append($0)
            take(parser.append($0))
        }
        result.reason = summary.reason
        if summary.reason != .cancelled { take(parser.finish()) }
        return result
    }

    /// Python `jsonschema`'s verdict on each (schema, JSON text) pair (Tests/MagiEngineTests/Fixtures/validate_json.py).
    static func validate(_ pairs: [(schema: JSONValue, output: String)]) throws -> [(valid: Bool, error: String)] {
        let environment = ProcessInfo.processInfo.environment
        let python = environment["MAGI_PYTHON"] ?? (environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi") + "/venv/bin/python"
        let lines = pairs.enumerated().map { JSONValue.object([(key: "id", value: .number(String($0.offset))), (key: "schema", value: $0.element.schema),
                                                               (key: "output", value: .string($0.element.output))]).pythonText }
        let run = try TestProcess.run(python, [repository + "/Tests/MagiEngineTests/Fixtures/validate_json.py"],
                                      input: Data((lines.joined(separator: "\n") + "\n").utf8), deadline: .seconds(120))
        // A validator that failed would drop every verdict: that is an error, not an empty list.
        guard run.status == 0 else { throw ServeError("validate_json.py failed (status \(run.status)): \(run.stderr)") }
        let verdicts = try run.stdout.split(separator: "\n").map {
            let verdict = try JSONValue(parsing: String($0))
            return (valid: verdict["valid"]?.bool == true, error: verdict["error"]?.string ?? "")
        }
        guard verdicts.count == pairs.count else { throw ServeError("validate_json.py gave \(verdicts.count) verdicts for \(pairs.count) outputs") }
        return verdicts
    }

    /// Every call is to an offered tool, with arguments that `jsonschema` accepts; returns how many calls were made.
    static func expectValidCalls(_ runs: [(label: String, run: Run)], sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let calls = runs.flatMap { r in r.run.calls.map { (r.label, $0) } }
        let known = Dictionary(uniqueKeysWithValues: tools.map { ($0.name, $0.parameters) })
        for (label, call) in calls { #expect(known[call.name] != nil, "\(label): call to '\(call.name)'", sourceLocation: sourceLocation) }
        let verdicts = try validate(calls.compactMap { c in known[c.1.name].map { ($0, c.1.arguments) } })
        for ((label, call), verdict) in zip(calls.filter { known[$0.1.name] != nil }, verdicts) {
            #expect(verdict.valid, "\(label): \(call.name) \(call.arguments): \(verdict.error)", sourceLocation: sourceLocation)
        }
        return calls.count
    }

    static var hasPython: Bool {
        let environment = ProcessInfo.processInfo.environment
        let python = environment["MAGI_PYTHON"] ?? (environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi") + "/venv/bin/python"
        return environment["CI"] != nil || FileManager.default.isExecutableFile(atPath: python)
    }

    /// Scripted tool-use prompts to the default model (ChatML, tools in its system prompt), sampled at temperature
    /// 0.8 under two seeds and forced into a call after some free text if the model does not call by itself:
    /// with the lazy constraint every call names an offered tool and its arguments validate (`jsonschema`), and
    /// the text before `<tool_call>` is token for token what the model writes without the constraint.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: modelPath) && hasPython))
    func scriptedToolPromptsGiveValidCallsOnTheDefaultModel() throws {
        let local = try LocalModel(path: Self.modelPath)
        #expect(local.template.format == .chatML)
        let session = InferenceSession(model: local.model, contextSize: 2048, threads: 2)
        let tokenizer = local.tokenizer
        let trigger = tokenizer.encode("<tool_call>", addSpecial: false, parseSpecial: false)
        let ends = Set((0..<Int32(tokenizer.vocabularySize)).filter(tokenizer.isEndOfGeneration))
        let forced = ForcedCall(after: 10, trigger: trigger, banned: ends, triggered: { tokenizer.decode($0).contains("<tool_call>") })
        var constrained: [(String, Run)] = [], free: [(String, Run)] = []
        for (k, text) in Self.prompts.enumerated() {
            let prompt = try local.promptTokens(for: Conversation(messages: [.user(text)], tools: Self.tools))
            for seed: UInt64 in [1, 2] {
                let label = "prompt \(k) seed \(seed)"
                let c = try Self.run(local, session, prompt: prompt, forced: forced, seed: seed, constraint: .lazy, maxTokens: 160, firstCallOnly: true)
                let f = try Self.run(local, session, prompt: prompt, forced: forced, seed: seed, constraint: .none, maxTokens: 160, firstCallOnly: true)
                #expect(c.calls.count == 1 && c.malformed.isEmpty, "\(label): \(tokenizer.decode(c.tokens).debugDescription)")
                // Free text up to the call opens the same way with and without the constraint.
                let n = try #require((1...c.tokens.count).first { tokenizer.decode(Array(c.tokens[..<$0])).contains("<tool_call>") },
                                     "\(label): no call opened")
                #expect(Array(c.tokens[..<n]) == Array(f.tokens.prefix(n)), "\(label): the text before the call differs")
                constrained.append((label, c))
                free.append((label, f))
            }
        }
        let calls = try Self.expectValidCalls(constrained)
        #expect(calls == constrained.count)
        let freeCalls = free.flatMap(\.1.calls)
        let freeValid = try Self.validate(freeCalls.compactMap { c in Self.tools.first { $0.name == c.name }.map { ($0.parameters, c.arguments) } })
        print("tool calls on SmolLM2, constrained: \(calls) of \(constrained.count) runs valid; free: \(freeValid.filter(\.valid).count) of \(free.count) runs"
              + " (\(free.map(\.1.malformed.count).reduce(0, +)) malformed, \(freeCalls.count - freeValid.count) to unknown tools)")
    }

    /// Mistral v13 calls on a random-weight model with Magistral's Tekken vocabulary (scripts/make-magistral-shaped-gguf.py):
    /// forced to `[TOOL_CALLS]` after free text, at temperature 0.8 under four seeds, what follows is
    /// `name[ARGS]{…}` calls (the `[ARGS]` control token matched by id), two of them, then `</s>`; every call
    /// parses, names an offered tool and has arguments `jsonschema` accepts, and the text before the first
    /// `[TOOL_CALLS]` is the unconstrained text. Without the constraint, the same runs give garbage calls. A reply
    /// that must call a tool starts with `[TOOL_CALLS]` and is calls only.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: magistralPath) && hasPython))
    func mistralCallsAfterTheTriggerTokenFollowTheToolsSchemas() throws {
        let local = try LocalModel(path: Self.magistralPath)
        #expect(local.template.format == .mistralV13)
        let tokenizer = local.tokenizer
        let callsToken = try #require(tokenizer.tokenID(for: "[TOOL_CALLS]"))
        let session = InferenceSession(model: local.model, contextSize: 1024, threads: 2)
        // Free text keeps off control tokens (ids below 1000 in Tekken) and the end, so each run reaches the call.
        // After two calls [TOOL_CALLS] is kept out, so the grammar leaves only the end.
        let forced = ForcedCall(after: 12, trigger: [callsToken], banned: Set(0..<1000), callLimit: 2, triggered: { _ in false })
        let prompt = try local.promptTokens(for: Conversation(messages: [.user("What's the weather in Paris?")], tools: Self.tools))
        var constrained: [(String, Run)] = []
        var freeValid = 0, freeCalls = 0, freeMalformed = 0
        for seed: UInt64 in 1...4 {
            let c = try Self.run(local, session, prompt: prompt, forced: forced, seed: seed, constraint: .lazy, maxTokens: 400, firstCallOnly: false)
            let f = try Self.run(local, session, prompt: prompt, forced: forced, seed: seed, constraint: .none, maxTokens: 60, firstCallOnly: false)
            let label = "seed \(seed)"
            #expect(c.reason == .endOfGeneration, "\(label) ran out of tokens: \(tokenizer.decode(c.tokens).debugDescription)")
            #expect(c.malformed.isEmpty && c.calls.count == 2, "\(label): \(c.malformed)")
            let first = try #require(c.tokens.firstIndex(of: callsToken))
            #expect(first == 12 && Array(c.tokens[...first]) == Array(f.tokens.prefix(first + 1)), "\(label): the text before the call differs")
            #expect(c.tokens.filter { $0 == callsToken }.count == c.calls.count)
            constrained.append((label, c))
            freeCalls += f.calls.count
            freeMalformed += f.malformed.count
            let known = f.calls.compactMap { call in Self.tools.first { $0.name == call.name }.map { ($0.parameters, call.arguments) } }
            freeValid += try Self.validate(known).filter(\.valid).count
        }
        // `--tool-choice required`: the whole reply is calls ([THINK], which the grammar allows first, kept out here).
        let think = try #require(tokenizer.tokenID(for: "[THINK]"))
        let onlyCalls = ForcedCall(after: 0, trigger: [callsToken], banned: [], alwaysBanned: [think], callLimit: 2, triggered: { _ in true })
        for seed: UInt64 in 1...2 {
            let r = try Self.run(local, session, prompt: prompt, forced: onlyCalls, seed: seed, constraint: .requiredCall, maxTokens: 400, firstCallOnly: false)
            #expect(r.tokens.first == callsToken && r.reason == .endOfGeneration && r.malformed.isEmpty && r.calls.count == 2,
                    "required, seed \(seed): \(tokenizer.decode(r.tokens).debugDescription)")
            constrained.append(("required, seed \(seed)", r))
        }
        let calls = try Self.expectValidCalls(constrained)
        print("Mistral v13 calls on the Magistral-shaped model, constrained: \(calls) calls in \(constrained.count) runs, "
              + "\(constrained.map { String($0.1.calls.count) }.joined(separator: "/")) per run, all valid; free: \(freeValid) valid, \(freeCalls) parsed, \(freeMalformed) malformed")
    }

    /// What each format's renderer writes for two calls (the form the model learnt) is what its call grammar
    /// accepts: Mistral v3/v7 (a JSON list with ids), v11 (`name[CALL_ID]id[ARGS]{…}`), v13 (`name[ARGS]{…}`),
    /// fed token by token after `[TOOL_CALLS]` on the Tekken vocabulary, and ChatML's `<tool_call>…</tool_call>`.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: magistralPath) && FileManager.default.fileExists(atPath: modelPath)))
    func callGrammarsAcceptCallsAsTheRenderersWriteThem() throws {
        let calls = [ToolCall(id: "a1B2c3D4e", name: "get_weather", arguments: #"{"city": "Paris", "unit": "celsius"}"#),
                     ToolCall(id: "Z9y8X7w6v", name: "add", arguments: #"{"a": 17, "b": -25}"#)]
        let conversation = Conversation(messages: [.user("Weather in Paris, and 17 - 25?"), .assistant("", toolCalls: calls)], tools: Self.tools)
        for format in [ChatFormat.mistralV3, .mistralV7, .mistralV11, .mistralV13] {
            let local = try LocalModel(path: Self.magistralPath, chatFormat: format)
            let tokenizer = local.tokenizer
            let tokens = try local.promptTokens(for: conversation)
            let grammar = try #require(try ToolCallGrammar(format: format, tools: Self.tools, tokenizer: tokenizer), "\(format)")
            let trigger = try #require(tokenizer.tokenID(for: "[TOOL_CALLS]"))
            let start = try #require(tokens.firstIndex(of: trigger))
            let end = try #require(tokens[start...].firstIndex { tokenizer.isEndOfGeneration($0) })
            for (required, from) in [(false, start + 1), (true, start)] {
                var m = GrammarMatcher(grammar: try grammar.grammar(requiringCall: required))
                for t in tokens[from..<end] {
                    let accepted = tokenizer.isControl(t) ? m.accept(token: t) : m.accept(tokenizer.tokenBytes(t))
                    #expect(accepted, "\(format): \(tokenizer.decode(Array(tokens[from..<end])).debugDescription) stops at \(tokenizer.decode([t]).debugDescription)")
                    if !accepted { break }
                }
                #expect(m.canEnd, "\(format), required \(required)")
            }
            if format == .mistralV13 {
                // A reply that must call a tool may reason first.
                var m = GrammarMatcher(grammar: try grammar.grammar(requiringCall: true))
                let reasoning = [try #require(tokenizer.tokenID(for: "[THINK]"))] + tokenizer.encode("Paris, then 17 - 25.", addSpecial: false)
                    + [try #require(tokenizer.tokenID(for: "[/THINK]"))]
                for t in reasoning + tokens[start..<end] {
                    let accepted = tokenizer.isControl(t) ? m.accept(token: t) : m.accept(tokenizer.tokenBytes(t))
                    #expect(accepted, "reasoning, then calls: stops at \(tokenizer.decode([t]).debugDescription)")
                }
                #expect(m.canEnd)
            }
        }
        let local = try LocalModel(path: Self.modelPath)
        // The assistant's turn (the system prompt shows the form too).
        let text = local.tokenizer.decode(try local.promptTokens(for: conversation)).components(separatedBy: "<|im_start|>assistant").dropFirst().first ?? ""
        let grammar = try #require(try ToolCallGrammar(format: .chatML, tools: Self.tools, tokenizer: local.tokenizer))
        let written = text.components(separatedBy: "<tool_call>").dropFirst().map { $0.components(separatedBy: "</tool_call>")[0] + "</tool_call>" }
        #expect(written.count == 2)
        for call in written {
            var m = GrammarMatcher(grammar: try grammar.grammar())
            #expect(m.accept(Array(call.utf8)) && m.isComplete, "\(call.debugDescription)")
            #expect(GrammarMatcher(grammar: try grammar.grammar(requiringCall: true)).matches("<tool_call>" + call), "\(call.debugDescription)")
        }
    }

    static var magistralPath: String {
        (ProcessInfo.processInfo.environment["MAGI_FIXTURES"] ?? repository + "/.build/fixtures") + "/magistral-shaped.gguf"
    }
}
