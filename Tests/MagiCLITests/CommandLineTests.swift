import Foundation
import Testing

/// The `magi` executable driven as users drive it: arguments, pipes, exit codes and stderr.
@Suite(.serialized) struct CommandLineTests {
    static var magiHome: String { ProcessInfo.processInfo.environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi" }
    static var hasModel: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil
            || FileManager.default.fileExists(atPath: magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// The built executable, beside the test bundle.
    static var executable: String {
        if let path = ProcessInfo.processInfo.environment["MAGI_BIN"] { return path }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return here.appendingPathComponent("magi").path
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `magi` with `arguments`, `stdin` piped in, and this process's environment without its
    /// MAGI_ variables but MAGI_HOME (so a user's MAGI_MODEL cannot steer a test), plus `environment`;
    /// killed at `deadline` (a hung magi fails its test with status -9 instead of hanging the suite).
    func magi(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
              currentDirectory: String? = nil, deadline: Duration = .seconds(300)) throws -> Outcome {
        let run = try TestProcess.run(Self.executable, arguments,
                                      environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAGI_") || $0.key == "MAGI_HOME" }
                                          .merging(environment) { $1 },
                                      input: Data((stdin ?? "").utf8), currentDirectory: currentDirectory, deadline: deadline)
        return Outcome(status: run.timedOut ? -9 : run.status, stdout: run.stdout, stderr: run.stderr)
    }

    @Test(.enabled(if: hasModel)) func answersAndPipeModeMatchesPromptMode() throws {
        // Greedy text is no oracle across kernels (NOTES.md): the answer is checked for being there
        // and alike both ways; its numerics are ModelNumericsTests' business.
        let question = "What is the capital of France?"
        let byFlag = try magi(["-p", question, "--temp", "0", "-n", "48"])
        #expect(byFlag.status == 0, "\(byFlag.stderr)")
        #expect(byFlag.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count > 10)
        let byPipe = try magi(["--temp", "0", "-n", "48"], stdin: question + "\n")
        #expect(byPipe.status == 0)
        #expect(byPipe.stdout == byFlag.stdout)
        // No escape codes on a pipe.
        #expect(!byFlag.stdout.contains("\u{1B}"))
    }

    @Test(.enabled(if: hasModel)) func theSameSeedGivesTheSameText() throws {
        let a = try magi(["-p", "Write a haiku about the sea.", "--temp", "0.9", "--seed", "7", "-n", "24"])
        let b = try magi(["-p", "Write a haiku about the sea.", "--temp", "0.9", "--seed", "7", "-n", "24"])
        #expect(a.status == 0 && !a.stdout.isEmpty)
        #expect(a.stdout == b.stdout)
    }

    @Test func aCorruptModelFailsWithOneLineOnStderr() throws {
        let path = NSTemporaryDirectory() + "magi-corrupt-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("GGUF\u{3}\0\0\0garbage".utf8).write(to: URL(fileURLWithPath: path))
        let r = try magi(["-m", path, "-p", "hi"])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("truncated"))

        let missing = try magi(["-m", "/nonexistent/model.gguf", "-p", "hi"])
        #expect(missing.status != 0 && missing.stderr.contains("No such file"))
    }

    @Test(.enabled(if: hasModel)) func aJSONSchemaConstrainsTheAnswer() throws {
        let schema = #"{"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}, "population": {"type": "integer"}}, "required": ["city", "population"]}"#
        let r = try magi(["-p", "What is the capital of France and its population?", "--json-schema", schema, "--temp", "0", "-n", "96"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["city"] is String && object?["population"] is Int, "\(r.stdout)")
        #expect(object?.count == 2)
    }

    @Test(.enabled(if: hasModel)) func aPipeGetsTheTextAsWrittenUnlessColorIsForced() throws {
        let answer = "# Sums\n\nThe sum is $\\frac{1}{2} + x^2$ and **bold**.\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        let grammar = NSTemporaryDirectory() + "magi-answer-\(UUID().uuidString).gbnf"
        defer { try? FileManager.default.removeItem(atPath: grammar) }
        try REPLScreenTests.grammar(admitting: answer).write(toFile: grammar, atomically: true, encoding: .utf8)
        let plain = try magi(["-p", "Show me", "--grammar-file", grammar, "--temp", "0", "-n", "200"])
        #expect(plain.status == 0 && plain.stdout == answer + "\n", "\(plain.stdout)")
        let forced = try magi(["-p", "Show me", "--grammar-file", grammar, "--temp", "0", "-n", "200", "--color", "always", "--theme", "light"])
        let rendered = try magi(["render", "--color", "always", "--theme", "light", "--width", "80"], stdin: answer)
        #expect(forced.status == 0 && forced.stdout.contains("\u{1B}[") && forced.stdout.contains("━━━━") && forced.stdout.contains("1/2 + x²"))
        #expect(forced.stdout.trimmingCharacters(in: .newlines) == rendered.stdout.trimmingCharacters(in: .newlines))
        let bad = try magi(["-p", "x", "--theme", "sepia"])
        #expect(bad.status != 0 && bad.stderr.contains("--theme must be dark or light"))
    }

    @Test(.enabled(if: hasModel)) func aReaderThatGoesAwayEndsMagiQuietly() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--temp", "0", "-n", "64", "--json", "-p", "Count from one to twenty."]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read one line, then leave, as `magi … | head -1` does.
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first += chunk
        }
        try out.fileHandleForReading.close()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(!first.isEmpty)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(String(decoding: stderr, as: UTF8.self))")
        #expect(stderr.isEmpty)
    }

    @Test func aMalformedGrammarFailsWithItsLineAndColumn() throws {
        let path = NSTemporaryDirectory() + "magi-bad-\(UUID().uuidString).gbnf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "root ::= \"a\" item\nitem ::= \"b\" )\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try magi(["--grammar-file", path, "-p", "x"])
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("line 2, column"), "\(r.stderr)")
        let schema = try magi(["--json-schema", #"{"type": "string", "format": "email"}"#, "-p", "x"])
        #expect(schema.status != 0 && schema.stderr.contains("format"), "\(schema.stderr)")
    }

    @Test func renderDrawsMarkdownAndMath() throws {
        let document = "# Result\n\n| x | $x^2$ |\n|---|---|\n| 3 | 9 |\n\nSo $\\alpha \\le \\frac{1}{2}$ and **bold**.\n"
        let plain = try magi(["render", "--color", "never", "--width", "40", "-"], stdin: document)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(!plain.stdout.contains("\u{1B}"))
        #expect(plain.stdout.contains("│") && plain.stdout.contains("x²") && plain.stdout.contains("α ≤ 1/2"), "\(plain.stdout)")
        let colored = try magi(["render", "--color", "always", "-"], stdin: document)
        #expect(colored.stdout.contains("\u{1B}["))
        let missing = try magi(["render", "/nonexistent.md"])
        #expect(missing.status != 0 && missing.stderr.split(separator: "\n").count == 1)
    }

    @Test func badFlagsAreRejected() throws {
        let r = try magi(["--temp", "-1", "-p", "x"])
        #expect(r.status != 0 && r.stderr.contains("--temp"))
        let t = try magi(["-t", "0", "-p", "x"])
        #expect(t.status != 0 && t.stderr.contains("--threads"))
    }

    @Test(.enabled(if: hasModel)) func tokenizePrintsIdsAndJSON() throws {
        let plain = try magi(["tokenize", "Hello world, héllo 🌍"])
        let json = try magi(["tokenize", "--json", "Hello world, héllo 🌍"])
        #expect(plain.status == 0 && json.status == 0)
        let ids = try JSONDecoder().decode([Int32].self, from: Data(json.stdout.utf8))
        #expect(ids.map(String.init).joined(separator: " ") + "\n" == plain.stdout)
        #expect(ids.count > 4)
        let piped = try magi(["tokenize", "--json", "-"], stdin: "Hello world, héllo 🌍")
        #expect(piped.stdout == json.stdout)
    }

    @Test(.enabled(if: hasModel)) func benchReportsJSON() throws {
        let r = try magi(["bench", "-p", "32", "-n", "8", "-r", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.map { $0["test"] as? String } == ["pp32", "tg8"])
        #expect(rows?.allSatisfy { ($0["avg_ts"] as? Double ?? 0) > 0 } == true)

        let schema = NSTemporaryDirectory() + "magi-bench-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: schema) }
        try #"{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}"#.write(toFile: schema, atomically: true, encoding: .utf8)
        let constrained = try magi(["bench", "-p", "0", "-n", "24", "-r", "1", "--json", "--json-schema", schema])
        #expect(constrained.status == 0, "\(constrained.stderr)")
        let constrainedRows = try JSONSerialization.jsonObject(with: Data(constrained.stdout.utf8)) as? [[String: Any]]
        #expect(constrainedRows?.map { $0["test"] as? String } == ["tg24", "tg24 sampled", "tg24 constrained"])
        try #"{"type": "string", "format": "email"}"#.write(toFile: schema, atomically: true, encoding: .utf8)
        let unsupported = try magi(["bench", "-p", "0", "-n", "8", "--json-schema", schema])
        #expect(unsupported.status == 1 && unsupported.stderr.contains("format"), "\(unsupported.stderr)")
    }

    /// Decode's speed as bytes of weights read per second, beside the machine's read bandwidth
    /// measured in the same run; the bytes a token reads counted by the `gguf` package (every tensor,
    /// but not the token embedding of a model with its own output matrix, as the Magistral-shaped one).
    @Test(.enabled(if: FlagCoverageTests.hasMagistral)) func benchStatesTheBandwidthDecodeReaches() throws {
        let model = AgentLoopModelTests.magistralPath
        let r = try magi(["bench", "-m", model, "-p", "0", "-n", "4", "-r", "1", "-t", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let row = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
        let count = try TestProcess.run(ToolCommandLineTests.venvPython, ["-c", """
            import gguf, sys
            t = {x.name: int(x.n_bytes) for x in gguf.GGUFReader(sys.argv[1]).tensors}
            print(sum(t.values()) - (t["token_embd.weight"] if "output.weight" in t else 0))
            """, model], deadline: .seconds(120))
        let perToken = try #require(Int(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(count.stderr)")
        #expect(row["weight_bytes_per_token"] as? Int == perToken)
        let speed = try #require(row["avg_ts"] as? Double), read = try #require(row["read_bytes_per_second"] as? Double)
        #expect(abs(read - speed * Double(perToken)) <= 1e-6 * read)
        // Any machine reads more than 100 MB/s, and none a terabyte per second.
        let machine = try #require(row["machine_read_bytes_per_second"] as? Double)
        #expect(machine > 1e8 && machine < 1e12, "\(machine)")
        let text = try magi(["bench", "-m", model, "-p", "0", "-n", "4", "-r", "1", "-t", "2"])
        #expect(text.stdout.contains("GB/s with 2 threads (measured now)") && text.stdout.contains("tg4: "), "\(text.stdout)")
    }

    /// Prefill's speed as int8 operations per second (two per multiply-add of every weight matrix),
    /// beside the machine's int8 peak measured in the same run; the multiply-adds counted by the
    /// `gguf` package (every matrix's elements, the token embedding's only when it is the output).
    @Test(.enabled(if: FlagCoverageTests.hasMagistral)) func benchStatesTheShareOfTheInt8PeakPrefillReaches() throws {
        let model = AgentLoopModelTests.magistralPath
        let r = try magi(["bench", "-m", model, "-p", "16", "-n", "0", "-r", "1", "-t", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let row = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
        let count = try TestProcess.run(ToolCommandLineTests.venvPython, ["-c", """
            import gguf, sys
            t = {x.name: int(x.n_elements) for x in gguf.GGUFReader(sys.argv[1]).tensors if len(x.shape) == 2}
            print(sum(t.values()) - (t["token_embd.weight"] if "output.weight" in t else 0))
            """, model], deadline: .seconds(120))
        let multiplyAdds = try #require(Int(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(count.stderr)")
        #expect(row["multiply_adds_per_token"] as? Int == multiplyAdds)
        let speed = try #require(row["avg_ts"] as? Double), ops = try #require(row["ops_per_second"] as? Double)
        #expect(abs(ops - speed * 2 * Double(multiplyAdds)) <= 1e-6 * ops)
        // This machine's kernels are AVX2 or AVX-512: its int8 peak lies between a GOPS and a POPS,
        // and prefill stays below it (twice it: the two are timed apart on a machine that may be busy).
        let peak = try #require(row["machine_int8_ops_per_second"] as? Double)
        #expect(peak > 1e9 && peak < 1e15 && ops < 2 * peak, "\(peak), \(ops)")
        let text = try magi(["bench", "-m", model, "-p", "16", "-n", "0", "-r", "1", "-t", "2"])
        #expect(text.stdout.contains("TOPS with 2 threads (measured now)") && text.stdout.contains("pp16: "), "\(text.stdout)")
    }

    /// The file's first two windows of 512 tokens scored within 1% of the exact model's perplexity on
    /// them (17.6866, made by scripts/exact-logits.py from the weights the gguf package dequantizes).
    @Test(.enabled(if: hasModel)) func perplexityScoresAFile() throws {
        let r = try magi(["perplexity", "-f", "/usr/share/common-licenses/GPL-3", "-c", "512", "--chunks", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let result = try JSONDecoder().decode([String: Double].self, from: Data(r.stdout.utf8))
        let ppl = try #require(result["perplexity"])
        #expect(abs(ppl / 17.6866 - 1) < 0.01, "perplexity \(ppl)")
        #expect(result["positions"].map(Int.init) == 2 * 255)
    }
}
