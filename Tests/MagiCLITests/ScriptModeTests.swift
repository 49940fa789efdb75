import Foundation
import Testing

/// Script mode (`--script FILE`, `-s`), `--json` events and sessions from pipes, through the real
/// `magi` and the default model, decoding greedily.
@Suite(.serialized) struct ScriptModeTests {
    let cli = CommandLineTests()

    /// A fresh data home, so sessions of one test never meet another's.
    static func environment() throws -> (home: String, variables: [String: String]) {
        let home = try REPLTerminalTests.makeHome()
        return (home, ["XDG_DATA_HOME": home + "/data", "HOME": home, "MAGI_HOME": CommandLineTests.magiHome])
    }

    static func write(_ text: String, in home: String, name: String = "script.magi") throws -> String {
        let path = home + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The events of `--json` output, each checked to be one JSON object.
    static func events(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    /// The answer pieces of each turn, joined, one string per `end` event.
    static func answers(_ events: [[String: Any]]) -> [String] {
        var answers: [String] = [], current = ""
        for event in events {
            switch event["type"] as? String {
            case "answer": current += event["text"] as? String ?? ""
            case "end": answers.append(current); current = ""
            default: break
            }
        }
        return answers
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aScriptRunsMessagesCommandsBlocksAndComments() throws {
        let (home, environment) = try Self.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = try Self.write("""
            # A comment, then a setting, a message, a block of several lines and a command.
            /set max_tokens 24
            What is the capital of France?
            \"\"\"
            # not a comment inside a block
            And of Germany?
            \"\"\"
            /show params
            """, in: home)
        let run = try cli.magi(["--temp", "0", "--script", script], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let alone = try cli.magi(["--temp", "0", "-n", "24", "-p", "What is the capital of France?"], environment: environment)
        // The first answer is the one a fresh conversation gets; the command output follows the answers.
        #expect(run.stdout.hasPrefix("max_tokens is now 24\n" + alone.stdout.trimmingCharacters(in: .newlines) + "\n\n"), "\(run.stdout)")
        #expect(run.stdout.contains("\nmax_tokens 24\n") && run.stdout.contains("\nthink hidden\n"))
        #expect(!run.stdout.contains("\u{1B}["))
        // Nothing is autosaved from a script unless it says /save.
        #expect(!FileManager.default.fileExists(atPath: home + "/data/magi/sessions"))

        let fromStdin = try cli.magi(["--temp", "0", "-s"], stdin: try String(contentsOfFile: script, encoding: .utf8), environment: environment)
        #expect(fromStdin.status == 0 && fromStdin.stdout == run.stdout)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aScriptStopsAtItsFirstErrorUnlessToldToKeepGoing() throws {
        let (home, environment) = try Self.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = try Self.write("""
            /set max_tokens 8
            Say hello.
            /sett temperature 1
            Say goodbye.
            """, in: home)
        let stopped = try cli.magi(["--temp", "0", "--script", script, "--json"], environment: environment)
        #expect(stopped.status == 1)
        #expect(stopped.stderr == "script.magi:3: error: unknown command /sett — did you mean /set?\n", "\(stopped.stderr)")
        let events = try Self.events(stopped.stdout)
        #expect(Self.answers(events).count == 1)
        #expect(events.last?["type"] as? String == "error" && events.last?["message"] as? String == "script.magi:3: unknown command /sett — did you mean /set?")

        let kept = try cli.magi(["--temp", "0", "--script", script, "--json", "--keep-going"], environment: environment)
        #expect(kept.status == 1)
        #expect(Self.answers(try Self.events(kept.stdout)).count == 2)

        let open = try cli.magi(["--temp", "0", "-s"], stdin: "\"\"\"\nnever closed\n", environment: environment)
        #expect(open.status == 1 && open.stderr.contains("stdin:2: error: the script ended inside a message"), "\(open.stderr)")
        let missing = try cli.magi(["--script", home + "/nope.magi"], environment: environment)
        #expect(missing.status == 1 && missing.stderr.contains("cannot read the script"))
        let both = try cli.magi(["--script", script, "-p", "hi"], environment: environment)
        #expect(both.status != 0 && both.stderr.contains("pass either a script"))
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func jsonEventsCarryTheSameAnswerAsPlainText() throws {
        let question = "What is the capital of France?"
        let plain = try cli.magi(["--temp", "0", "-n", "24", "-p", question])
        let json = try cli.magi(["--temp", "0", "-n", "24", "-p", question, "--json"])
        #expect(json.status == 0 && json.stderr.isEmpty, "\(json.stderr)")
        let events = try Self.events(json.stdout)
        #expect(Self.answers(events) == [plain.stdout.trimmingCharacters(in: .newlines)])
        let usage = try #require(events.first { $0["type"] as? String == "usage" })
        #expect((usage["generated_tokens"] as? Int ?? 0) > 0 && (usage["prompt_tokens"] as? Int ?? 0) > 0)
        #expect(usage["context_size"] as? Int == 4096)
        let reason = usage["generated_tokens"] as? Int == 24 ? "maxTokens" : "endOfGeneration"
        #expect(events.last?["type"] as? String == "end" && events.last?["reason"] as? String == reason)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func jsonEventsShowToolCallsAndResults() throws {
        let run = try cli.magi(["--tools", "calculator", "--tool-choice", "required", "--temp", "0", "-n", "80", "--json",
                                "-p", "What is 12 * 34? Use the calculator."])
        #expect(run.status == 0, "\(run.stderr)")
        let events = try Self.events(run.stdout)
        let call = try #require(events.first { $0["type"] as? String == "tool_call" })
        #expect(call["name"] as? String == "calculator" && call["arguments"] is [String: Any])
        let result = try #require(events.first { $0["type"] as? String == "tool_result" })
        #expect(result["name"] as? String == "calculator" && (result["result"] is String || result["error"] is String))
        #expect(events.firstIndex { $0["type"] as? String == "tool_call" }! < events.firstIndex { $0["type"] as? String == "tool_result" }!)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func pipesGoOnWithASavedSessionAndReuseItsKVCache() throws {
        let (home, environment) = try Self.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = try Self.write("What is the capital of France?\n/save trip\n", in: home)
        let saved = try cli.magi(["--temp", "0", "-n", "24", "--script", script], environment: environment)
        #expect(saved.status == 0, "\(saved.stderr)")
        let sessions = home + "/data/magi/sessions"
        #expect(FileManager.default.fileExists(atPath: sessions + "/trip.kv"))

        // The follow-up prefills only its own tokens: the rest comes from the saved KV cache.
        let follow = try cli.magi(["--temp", "0", "-n", "24", "--resume", "trip", "--json", "-p", "And of Italy?"], environment: environment)
        #expect(follow.status == 0, "\(follow.stderr)")
        #expect(follow.stderr.contains("magi: resuming session trip (1 exchanges, "), "\(follow.stderr)")
        let warm = try #require(try Self.events(follow.stdout).first { $0["type"] as? String == "usage" })
        let session = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sessions + "/trip.json"))) as? [String: Any]
        #expect(((session?["conversation"] as? [String: Any])?["messages"] as? [Any])?.count == 4, "the follow-up joins the session")

        // Without the cache file the same question prefills the whole conversation again.
        try FileManager.default.removeItem(atPath: sessions + "/trip.kv")
        let cold = try cli.magi(["--temp", "0", "-n", "24", "--resume", "trip", "--json", "-p", "And of Italy?"], environment: environment)
        let coldUsage = try #require(try Self.events(cold.stdout).first { $0["type"] as? String == "usage" })
        let warmTokens = try #require(warm["prompt_tokens"] as? Int), coldTokens = try #require(coldUsage["prompt_tokens"] as? Int)
        #expect(warmTokens < 20 && coldTokens > warmTokens + 30, "warm \(warmTokens), cold \(coldTokens)")

        // A damaged cache file is ignored: the turn prefills instead.
        try Data("MAGIKV garbage".utf8).write(to: URL(fileURLWithPath: sessions + "/trip.kv"))
        let damaged = try cli.magi(["--temp", "0", "-n", "8", "--resume", "trip", "-p", "Thanks."], environment: environment)
        #expect(damaged.status == 0, "\(damaged.stderr)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func formatConstrainsAnswersFromTheFlagAndFromSetFormat() throws {
        let (home, environment) = try Self.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let oneShot = try cli.magi(["--temp", "0", "-n", "48", "--format", "json", "-p", "What is the capital of France?"], environment: environment)
        #expect(oneShot.status == 0, "\(oneShot.stderr)")
        #expect((try? JSONSerialization.jsonObject(with: Data(oneShot.stdout.utf8), options: .fragmentsAllowed)) != nil, "not JSON: \(oneShot.stdout)")

        let schema = try Self.write(#"{"type": "object", "properties": {"city": {"enum": ["Paris", "Lyon"]}}, "required": ["city"]}"#,
                                    in: home, name: "city.json")
        let script = try Self.write("""
            /set max_tokens 48
            /set format \(schema)
            What is the capital of France?
            /set format none
            /show params
            /set format \(home)/missing.json
            """, in: home)
        let run = try cli.magi(["--temp", "0", "--script", script, "--json"], environment: environment)
        #expect(run.status == 1)
        let answers = Self.answers(try Self.events(run.stdout))
        let object = try JSONSerialization.jsonObject(with: Data(try #require(answers.first).utf8)) as? [String: String]
        #expect(object == ["city": "Paris"] || object == ["city": "Lyon"], "\(answers)")
        #expect(run.stdout.contains(#"format none\n"#), "\(run.stdout)")
        #expect(run.stderr.contains("script.magi:6: error: cannot read \(home)/missing.json"), "\(run.stderr)")
        let both = try cli.magi(["--format", "json", "--json-schema", "{}", "-p", "x"], environment: environment)
        #expect(both.status != 0 && both.stderr.contains("pass only one of --format"))
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func theExampleScriptsRunToTheEnd() throws {
        let (home, environment) = try Self.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples").standardized.path
        let scripts = try FileManager.default.contentsOfDirectory(atPath: examples).filter { $0.hasSuffix(".magi") }.sorted()
        #expect(scripts == ["batch-questions.magi", "tool-task.magi", "tutoring.magi"])
        for script in scripts {
            let run = try cli.magi(["--temp", "0", "--tools", "calculator,python", "--yes", "--json", "--script", examples + "/" + script],
                                   environment: environment)
            #expect(run.status == 0, "\(script): \(run.stderr)")
            let events = try Self.events(run.stdout)
            #expect(Self.answers(events).count >= 2 && !events.contains { $0["type"] as? String == "error" }, "\(script)")
        }
        #expect(FileManager.default.fileExists(atPath: home + "/data/magi/sessions/tutoring-primes.json"))
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func modelImageToolsAndLicenseCommands() throws {
        let (home, environment) = try Self.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let model = CommandLineTests.magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        let image = try Self.write("not really a picture", in: home, name: "cat.png")
        let script = try Self.write("""
            /show license
            /tools
            /model \(model)
            /model
            /think show
            /image \(image)
            /set ctx 256
            /show info
            /set ctx 3
            """, in: home)
        let run = try cli.magi(["--temp", "0", "--script", script, "--keep-going"], environment: environment)
        #expect(run.stdout.hasPrefix("apache-2.0\n"), "\(run.stdout)")
        #expect(run.stdout.contains("no tools offered: start magi with --tools"))
        #expect(run.stdout.contains("now on SmolLM2-135M-Instruct.Q4_1.gguf (chatml chat format, context 4096)"), "\(run.stdout)")
        #expect(run.stdout.contains("\n" + model + "\n"))
        #expect(run.stderr.contains("script.magi:5: error: the last reply has no reasoning"), "\(run.stderr)")
        #expect(run.stderr.contains("script.magi:6: error: SmolLM2-135M-Instruct.Q4_1.gguf has no vision"), "\(run.stderr)")
        #expect(run.stdout.contains("ctx is now 256; the next turn prefills the conversation again"))
        #expect(run.stdout.contains("context        0 of 256 tokens in use"), "\(run.stdout)")
        #expect(run.stderr.contains("script.magi:9: error: invalid ctx 3: expected a whole number of tokens from 8 to 1048576"), "\(run.stderr)")

        let tools = try Self.write("/tools\n", in: home, name: "tools.magi")
        let listed = try cli.magi(["--tools", "calculator,fetch_url", "--script", tools], environment: environment)
        #expect(listed.stdout == "calculator — runs\nfetch_url [network] — refused (needs --yes or --allow-tool)\n", "\(listed.stdout)")
        let direct = try Self.write("/tool calculator {\"expression\": \"2**10 + 1/4\"}\n/tool calculator {\"expr\": 1}\n/tool nope\n",
                                    in: home, name: "direct.magi")
        let called = try cli.magi(["--tools", "calculator", "--script", direct, "--keep-going"], environment: environment)
        #expect(called.stdout.hasPrefix("4097/4 ") && called.stdout.contains("1024.25"), "\(called.stdout)")
        #expect(called.stderr.contains("direct.magi:2: error: calculator: "), "\(called.stderr)")
        #expect(called.stderr.contains("direct.magi:3: error: no tool named nope is offered; the tools are: calculator"), "\(called.stderr)")
        let bad = try Self.write("/model /nonexistent.gguf\n", in: home, name: "bad.magi")
        let failed = try cli.magi(["--script", bad], environment: environment)
        #expect(failed.status == 1 && failed.stderr.contains("bad.magi:1: error: /nonexistent.gguf"), "\(failed.stderr)")
    }
}
