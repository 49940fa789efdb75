import Foundation
import Testing

/// Input built to crash magi — nesting past every stack, counts past every memory — through the real
/// binary under an 8 GB address-space limit: each gets a one-line error and a non-zero exit, never a
/// signal; the server answers 400 naming the field and keeps serving.
@Suite(.serialized) struct HostileInputTests {
    static let nestedGrammar = "root ::= " + String(repeating: "(", count: 20_000) + "\"a\"" + String(repeating: ")", count: 20_000) + "\n"

    private func temporaryFile(_ contents: Data, suffix: String) throws -> String {
        let path = NSTemporaryDirectory() + "magi-hostile-\(UUID().uuidString)" + suffix
        try contents.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aDeeplyNestedGrammarFileIsAOneLineError() throws {
        let path = try temporaryFile(Data(Self.nestedGrammar.utf8), suffix: ".gbnf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try BoundedProcess.magi(["--grammar-file", path, "-p", "hi", "-n", "4"])
        #expect(run.isOneLineFailure, "status \(run.status), signal \(String(describing: run.signal)): \(run.stderr.prefix(500))")
        #expect(run.stderr.contains("grammar nests deeper than 1,000 levels at line 1, column 1,010"), "\(run.stderr.prefix(500))")
    }

    @Test func aConfigKeyOf40000PartsIsAOneLineError() throws {
        let parts = (0..<40_000).map { "k\($0)" }
        for text in ["[" + parts.joined(separator: ".") + "]\nx = 1\n", parts.joined(separator: ".") + " = 1\n",
                     "a = " + String(repeating: "[", count: 40_000) + String(repeating: "]", count: 40_000) + "\n"] {
            let home = NSTemporaryDirectory() + "magi-hostile-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: home + "/magi", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            try Data(text.utf8).write(to: URL(fileURLWithPath: home + "/magi/config.toml"))
            let run = try BoundedProcess.magi(["config"], environment: ["XDG_CONFIG_HOME": home], deadline: 60)
            #expect(run.isOneLineFailure, "status \(run.status), signal \(String(describing: run.signal)): \(run.stderr.prefix(500))")
            #expect(run.stderr.contains("config.toml:1:") && run.stderr.contains("nest deeper than 100 levels"), "\(run.stderr.prefix(500))")
        }
    }

    /// The default model with `llama.block_count` patched to 0xFFFFFF (it holds 30 blocks).
    @Test(.enabled(if: CommandLineTests.hasModel)) func aHugeBlockCountIsCheckedAgainstTheTensorTable() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: CommandLineTests.magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
        let key = Data("llama.block_count".utf8)
        let at = try #require(bytes.range(of: key)).upperBound
        #expect(bytes[at..<at + 4] == Data([4, 0, 0, 0]), "llama.block_count should be a uint32")
        bytes.replaceSubrange(at + 4..<at + 8, with: [0xFF, 0xFF, 0xFF, 0x00])
        let path = try temporaryFile(bytes, suffix: ".gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try BoundedProcess.magi(["-m", path, "-p", "hi", "-n", "1"])
        #expect(run.isOneLineFailure, "status \(run.status), signal \(String(describing: run.signal)): \(run.stderr.prefix(500))")
        #expect(run.stderr.contains("llama.block_count") && run.stderr.contains("16777215") && run.stderr.contains("30 blocks"), "\(run.stderr.prefix(500))")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func theServerRefusesADeeplyNestedGrammarAndKeepsServing() throws {
        let server = try LoopbackServer(arguments: ["-c", "512"])
        defer { server.stop() }
        for (path, body) in [("/v1/completions", ["prompt": "x", "max_tokens": 1, "grammar": Self.nestedGrammar] as [String: Any]),
                             ("/v1/chat/completions", ["messages": [["role": "user", "content": "x"]], "max_tokens": 1, "grammar": Self.nestedGrammar])] {
            let reply = try server.post(path, json: body)
            #expect(reply.status == 400, "\(path): \(reply.body.prefix(300))")
            #expect(reply.errorParam == "grammar", "\(path): \(reply.body.prefix(300))")
            #expect(reply.errorMessage?.contains("nests deeper than 1,000 levels") == true, "\(path): \(reply.body.prefix(300))")
        }
        let deepBody = try server.post("/v1/chat/completions", body: Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8))
        #expect(deepBody.status == 400 && deepBody.errorMessage?.contains("nest deeper than 512 levels") == true, "\(deepBody.body.prefix(300))")
        let next = try server.post("/v1/completions", json: ["prompt": "Hello", "max_tokens": 2, "temperature": 0])
        #expect(next.status == 200, "\(next.body.prefix(300))")
        #expect(server.isRunning)
    }

    /// `/context` on a resumed session far longer than the window counts what the window holds.
    @Test(.enabled(if: CommandLineTests.hasModel)) func contextCountsOnlyWhatTheWindowHolds() throws {
        let data = NSTemporaryDirectory() + "magi-hostile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: data + "/magi/sessions", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: data) }
        var messages: [[String: String]] = [["role": "system", "content": "You are a helpful assistant."]]
        for i in 0..<300 {
            messages.append(["role": "user", "content": "Question \(i): what is \(i) times \(i)?"])
            messages.append(["role": "assistant", "content": "\(i) times \(i) is \(i * i)."])
        }
        let session: [String: Any] = ["format_version": 1, "saved_at": "2026-12-03T10:00:00Z", "conversation": ["messages": messages]]
        try JSONSerialization.data(withJSONObject: session).write(to: URL(fileURLWithPath: data + "/magi/sessions/long.json"))
        let script = data + "/context.magi"
        try Data("/context\n".utf8).write(to: URL(fileURLWithPath: script))
        let run = try BoundedProcess.magi(["-c", "1024", "--resume", "long", "--script", script], environment: ["XDG_DATA_HOME": data])
        #expect(run.status == 0 && run.signal == nil, "\(run.stderr)")
        let line = try #require(run.stdout.range(of: #"used \d+ of 1024 tokens"#, options: .regularExpression), "\(run.stdout)")
        let used = try #require(Int(run.stdout[line].split(separator: " ")[1]))
        #expect(used > 0 && used <= 1024, "\(run.stdout)")
        #expect(run.stdout.contains("oldest exchanges left out"), "\(run.stdout)")
    }
}
