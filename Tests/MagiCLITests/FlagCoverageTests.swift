import Foundation
import Testing

/// Every user-facing flag and entry point driven once through the real binary, each checked for an
/// effect that can be told from outside: a Magistral-format (v13, `[THINK]`) model end to end, piped
/// text with `-p`, `--raw`, `--show-thinking`, `--cache-type`, the sampling flags, `--json-schema-file`,
/// `magi perplexity --kl-divergence`, `/retry` and `/undo`, and `--tools` in its default auto mode.
@Suite(.serialized) struct FlagCoverageTests {
    let cli = CommandLineTests()

    static var hasMagistral: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil || FileManager.default.fileExists(atPath: AgentLoopModelTests.magistralPath)
    }

    /// The `--json` events of `stdout`, each a JSON object.
    static func events(_ stdout: String) throws -> [[String: Any]] { try ScriptModeTests.events(stdout) }

    @Test(.enabled(if: hasMagistral)) func aMagistralFormatModelAnswersEndToEnd() throws {
        let run = try cli.magi(["-m", AgentLoopModelTests.magistralPath, "-p", "Bonjour", "-n", "12", "--show-thinking", "--json", "-c", "512"])
        #expect(run.status == 0, "\(run.stderr)")
        let events = try Self.events(run.stdout)
        #expect(events.last?["type"] as? String == "end", "\(run.stdout)")
        // The v13 prompt: system prompt, [INST]…[/INST]; its tokens are counted in the usage event.
        let usage = try #require(events.first { $0["type"] as? String == "usage" })
        #expect((usage["prompt_tokens"] as? Int ?? 0) > 3)
        let template = try cli.magi(["-m", AgentLoopModelTests.magistralPath, "--script", "-", "-c", "512"], stdin: "/show template\n")
        #expect(template.status == 0 && template.stdout.contains("v13"), "\(template.stdout)\(template.stderr)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func pipedTextJoinsThePromptAfterTheInstruction() throws {
        let alone = try cli.magi(["-p", "Summarise this.", "-n", "1", "--json"])
        let both = try cli.magi(["-p", "Summarise this.", "-n", "1", "--json"], stdin: "A long note about the sea and its tides.\n")
        #expect(alone.status == 0 && both.status == 0, "\(alone.stderr)\(both.stderr)")
        let tokens = { (run: CommandLineTests.Outcome) in
            try Self.events(run.stdout).first { $0["type"] as? String == "usage" }?["prompt_tokens"] as? Int ?? 0
        }
        #expect(try tokens(both) > tokens(alone) + 8)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func rawCompletesWithoutTheChatTemplate() throws {
        let raw = try cli.magi(["--raw", "-p", "Once upon a time", "-n", "6", "--json"])
        let chat = try cli.magi(["-p", "Once upon a time", "-n", "6", "--json"])
        #expect(raw.status == 0 && chat.status == 0, "\(raw.stderr)")
        let prompt = { (run: CommandLineTests.Outcome) in
            try Self.events(run.stdout).first { $0["type"] as? String == "usage" }?["prompt_tokens"] as? Int ?? 0
        }
        // "Once upon a time" is 4 tokens; the chat template adds its system prompt and markers.
        #expect(try prompt(raw) == 4)
        #expect(try prompt(chat) > 10)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func samplingFlagsThatKeepOneCandidateDecodeGreedily() throws {
        let greedy = try cli.magi(["-p", "Name a colour.", "-n", "16", "--temp", "0"])
        let topK = try cli.magi(["-p", "Name a colour.", "-n", "16", "--temp", "1.5", "--top-k", "1", "--seed", "3"])
        let minP = try cli.magi(["-p", "Name a colour.", "-n", "16", "--temp", "1.5", "--min-p", "1", "--top-k", "0", "--seed", "4"])
        #expect(greedy.status == 0 && topK.status == 0 && minP.status == 0, "\(topK.stderr)\(minP.stderr)")
        #expect(topK.stdout == greedy.stdout)
        #expect(minP.stdout == greedy.stdout)
        let penalised = try cli.magi(["-p", "Name a colour.", "-n", "16", "--temp", "0", "--repeat-penalty", "1.3", "--top-p", "0.9"])
        #expect(penalised.status == 0, "\(penalised.stderr)")
        // Different seeds at a high temperature give different texts (four seeds, not all alike).
        let texts = try (1...4).map { try cli.magi(["-p", "Write a haiku about the sea.", "--temp", "1.2", "--seed", String($0), "-n", "24"]).stdout }
        #expect(Set(texts).count > 1)
        let bad = try cli.magi(["-p", "x", "--top-p", "1.5"])
        #expect(bad.status != 0 && bad.stderr.contains("--top-p must be between 0 and 1"), "\(bad.stderr)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func cacheTypesAnswer() throws {
        for type in ["f16", "f32"] {
            let run = try cli.magi(["-p", "Hi", "-n", "4", "--cache-type", type, "-v"])
            #expect(run.status == 0, "\(type): \(run.stderr)")
            #expect(run.stderr.contains("stop:"), "\(run.stderr)")
        }
        let unknown = try cli.magi(["-p", "Hi", "--cache-type", "q3"])
        #expect(unknown.status != 0)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func jsonSchemaFileConstrainsTheAnswer() throws {
        let folder = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #"{"type":"object","properties":{"colour":{"enum":["red","green","blue"]}},"required":["colour"]}"#
            .write(toFile: folder + "/colour.json", atomically: true, encoding: .utf8)
        let run = try cli.magi(["--json-schema-file", folder + "/colour.json", "-p", "Name a colour.", "-n", "32"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: String]
        #expect(["red", "green", "blue"].contains(object?["colour"] ?? ""), "\(run.stdout)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel && (ProcessInfo.processInfo.environment["CI"] != nil
                    || FileManager.default.fileExists(atPath: Self.exactKLD))))
    func perplexityMatchesTheExactModelThroughTheCommand() throws {
        let run = try cli.magi(["perplexity", "--kl-divergence-base", Self.exactKLD, "--kl-divergence", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try JSONDecoder().decode([String: Double].self, from: Data(run.stdout.utf8))
        let (ppl, base, kld) = (try #require(result["perplexity"]), try #require(result["base_perplexity"]), try #require(result["mean_kld"]))
        // llama.cpp measures 0.0030 against the same exact model (NOTES.md).
        #expect(kld < 0.01, "mean KLD \(kld)")
        #expect(abs(ppl / base - 1) < 0.01, "perplexity \(ppl) against the exact model's \(base)")
    }

    static var fixtures: String {
        ProcessInfo.processInfo.environment["MAGI_FIXTURES"] ?? AgentLoopModelTests.repository + "/.build/fixtures"
    }
    static var exactKLD: String { fixtures + "/exact-gpl3-c512.kld" }

    /// `magi tokenize` cuts the whole GPL-3 text as Hugging Face `tokenizers` does with the model's
    /// vocabulary and merges (scripts/hf-tokenize.py, which made the exact model's fixture tokens).
    @Test(.enabled(if: CommandLineTests.hasModel)) func tokenizeAgreesWithHuggingFaceTokenizers() throws {
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/gpl3.tokens.json"))) as? [Int])
        let text = try String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8)
        let run = try cli.magi(["tokenize", "--json", "--no-parse-special", "-"], stdin: text)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        let ids = try #require((object as? [Int]) ?? ((object as? [String: Any])?["ids"] as? [Int]), "\(run.stdout.prefix(200))")
        #expect(expected.count > 7_000)
        #expect(ids.count == expected.count)
        let first = zip(ids, expected).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(first == nil, "the first difference is at token \(first?.offset ?? -1)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func retryAnswersAgainAndUndoDropsTheExchange() throws {
        let (home, environment) = try ScriptModeTests.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = try ScriptModeTests.write("Hello\n/retry\n/undo\n/save kept\n", in: home)
        let run = try cli.magi(["--script", script, "-n", "4", "--json"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let ends = try Self.events(run.stdout).filter { $0["type"] as? String == "end" }
        #expect(ends.count == 2, "\(run.stdout)")
        let saved = try String(contentsOfFile: home + "/data/magi/sessions/kept.json", encoding: .utf8)
        let session = try JSONSerialization.jsonObject(with: Data(saved.utf8)) as? [String: Any]
        let messages = (session?["conversation"] as? [String: Any])?["messages"] as? [Any]
        #expect(messages?.isEmpty == true, "\(saved)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func toolsInTheDefaultAutoMode() throws {
        let run = try cli.magi(["--tools", "calculator", "-y", "-p", "What is 17 * 23? Use the calculator.", "-n", "64", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let events = try Self.events(run.stdout)
        #expect(events.last?["type"] as? String == "end")
        // Whether the model calls is its choice; a call it makes is to the offered tool.
        for call in events where call["type"] as? String == "tool_call" { #expect(call["name"] as? String == "calculator") }
    }
}
