import Foundation
import MagiChat
import Testing
@testable import MagiCLI

/// `magi --remote` against OpenAI-compatible servers on loopback: `magi serve` (answers compared with
/// the local engine's) and a scripted server that is not magi (answers known by construction).
@Suite(.serialized) struct RemoteCommandLineTests {
    let cli = CommandLineTests()
    static let question = "What is the capital of France?"

    /// A home of its own, so sessions and history land in a temporary folder.
    static func home() throws -> String {
        let home = NSTemporaryDirectory() + "magi-remote-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return home
    }

    /// The JSON events of a run, one object per line.
    static func events(_ output: String) -> [[String: Any]] {
        output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// `arguments` run against a fresh `magi serve` (each server's first request prefills the whole
    /// prompt, as the local run does, so greedy output is the same token for token).
    func remote(_ arguments: [String]) throws -> CommandLineTests.Outcome {
        let server = try ServeProcess(arguments: [])
        defer { server.stop() }
        return try cli.magi(["--remote", "http://127.0.0.1:\(server.port)/v1"] + arguments)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aRemoteAnswerEqualsTheLocalOneAndStreamsItsEvents() throws {
        let local = try cli.magi(["-p", Self.question, "--temp", "0", "-n", "24", "-t", "2"])
        let remote = try remote(["-p", Self.question, "--temp", "0", "-n", "24"])
        #expect(remote.status == 0, "\(remote.stderr)")
        #expect(!local.stdout.isEmpty && remote.stdout == local.stdout, "remote \(remote.stdout) / local \(local.stdout)")
        let events = Self.events(try self.remote(["-p", Self.question, "--temp", "0", "-n", "24", "--json"]).stdout)
        let answer = events.filter { $0["type"] as? String == "answer" }.compactMap { $0["text"] as? String }.joined()
        #expect(answer + "\n" == local.stdout)
        let usage = events.first { $0["type"] as? String == "usage" }
        #expect(usage?["generated_tokens"] as? Int == 24 && usage?["prompt_tokens"] as? Int ?? 0 > 10, "\(events)")
        #expect(events.last?["type"] as? String == "end" && events.last?["reason"] as? String == "maxTokens")
    }

    /// Against a server that is not magi — a scripted OpenAI-compatible one whose answers are known by
    /// construction — what it streams arrives as sent: the reasoning apart, the answer whole, a call
    /// run here with its result (12 × 34, computed by the calculator tool) sent back for the last answer.
    @Test func aScriptedServersAnswersArriveAsSent() throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let answer = "The capital of France is **Paris**, on the Seine."
        let plainServer = try ScriptedServer(script: [["reasoning": "France's capital: Paris.", "content": answer]], home: home)
        defer { plainServer.stop() }
        let plain = try cli.magi(["--remote", plainServer.url, "-p", Self.question], environment: ["HOME": home])
        #expect(plain.status == 0 && plain.stdout == answer + "\n", "\(plain.stdout)\n\(plain.stderr)")
        let events = Self.events(try cli.magi(["--remote", plainServer.url, "-p", Self.question, "--json"], environment: ["HOME": home]).stdout)
        let text = { (type: String) in events.filter { $0["type"] as? String == type }.compactMap { $0["text"] as? String }.joined() }
        #expect(text("answer") == answer && text("reasoning") == "France's capital: Paris.", "\(events)")
        #expect(events.last?["type"] as? String == "end" && events.last?["reason"] as? String == "endOfGeneration", "\(events)")

        let toolServer = try ScriptedServer(script: [["tool_call": ["name": "calculator", "arguments": #"{"expression": "12 * 34"}"#]],
                                                     ["content": "12 × 34 = 408."]], home: home)
        defer { toolServer.stop() }
        let run = try cli.magi(["--remote", toolServer.url, "-p", "What is 12 * 34?", "--tools", "calculator", "--yes", "--json"],
                               environment: ["HOME": home])
        #expect(run.status == 0, "\(run.stderr)")
        let turn = Self.events(run.stdout)
        let result = turn.first { $0["type"] as? String == "tool_result" }
        #expect(result?["name"] as? String == "calculator" && (result?["result"] as? String)?.contains(String(12 * 34)) == true, "\(turn)")
        #expect(turn.filter { $0["type"] as? String == "answer" }.compactMap { $0["text"] as? String }.joined() == "12 × 34 = 408.", "\(turn)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func toolCallsComeBackAsTheLocalEngineMakesThem() throws {
        let arguments = ["-p", "What is 12 * 34? Use the calculator.", "--tools", "calculator", "--tool-choice", "required", "--yes",
                         "--temp", "0", "-n", "80", "--json", "-t", "2"]
        let local = Self.events(try cli.magi(arguments).stdout)
        let remote = Self.events(try self.remote(Array(arguments.dropLast(2))).stdout)
        let call = { (events: [[String: Any]]) in events.first { $0["type"] as? String == "tool_call" } }
        #expect(call(remote)?["name"] as? String == "calculator", "\(remote)")
        #expect((call(remote)?["arguments"] as? [String: Any])?["expression"] as? String == (call(local)?["arguments"] as? [String: Any])?["expression"] as? String)
        // The call ran here and its result (or its error) went back to the server.
        #expect(remote.contains { $0["type"] as? String == "tool_result" && $0["name"] as? String == "calculator" }, "\(remote)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func schemasAndGrammarsReachTheServer() throws {
        let server = try ServeProcess(arguments: [])
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/v1"
        // A JSON Schema goes as response_format.
        let schema = #"{"type": "object", "properties": {"city": {"enum": ["Paris", "Lyon"]}, "rank": {"type": "integer"}}, "required": ["city", "rank"], "additionalProperties": false}"#
        let shaped = try cli.magi(["--remote", url, "-p", "Name a French city.", "--json-schema", schema, "--temp", "0", "-n", "40"])
        let object = try JSONSerialization.jsonObject(with: Data(shaped.stdout.utf8)) as? [String: Any]
        #expect(["Paris", "Lyon"].contains(object?["city"] as? String) && object?["rank"] is Int && object?.count == 2, "\(shaped.stdout)")
        // A GBNF grammar goes as llama.cpp's `grammar`; the server's reasoning field comes back as reasoning.
        let grammar = NSTemporaryDirectory() + "magi-think-\(UUID().uuidString).gbnf"
        try #"root ::= "<think>" [a-z ]{5,20} "</think>" "Paris.""#.write(toFile: grammar, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: grammar) }
        let events = Self.events(try cli.magi(["--remote", url, "-p", Self.question, "--grammar-file", grammar, "--temp", "0", "-n", "40", "--json"]).stdout)
        let text = { (type: String) in events.filter { $0["type"] as? String == type }.compactMap { $0["text"] as? String }.joined() }
        #expect(text("reasoning").count >= 5 && text("answer") == "Paris.", "\(events)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func theKeyComesFromTheEnvironmentAndNeverReachesTheSession() throws {
        let server = try ServeProcess(arguments: ["--api-key", "sekrit-123"])
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/v1"
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = ["HOME": home, "XDG_DATA_HOME": home + "/data"]
        let refused = try cli.magi(["--remote", url, "-p", "hi"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("refused the API key (401)") && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        let script = "Say hello.\n/save remote-chat\n"
        let run = try cli.magi(["--remote", url, "-m", "SmolLM2-135M-Instruct.Q4_1", "-s", "--temp", "0", "-n", "8"], stdin: script,
                               environment: environment.merging(["MAGI_API_KEY": "sekrit-123"]) { $1 })
        #expect(run.status == 0, "\(run.stderr)")
        let saved = try String(contentsOfFile: home + "/data/magi/sessions/remote-chat.json", encoding: .utf8)
        #expect(saved.contains("Say hello.") && !saved.contains("sekrit-123"))
        let missing = try cli.magi(["--remote", url, "--api-key-env", "MAGI_TEST_NO_SUCH_KEY", "-p", "hi"], environment: environment)
        #expect(missing.status == 1 && missing.stderr.contains("put it in the environment variable MAGI_TEST_NO_SUCH_KEY"), "\(missing.stderr)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aConfigProfileNamesTheServerTheModelAndTheKeyVariable() throws {
        let server = try ServeProcess(arguments: ["--api-key", "k-42"])
        defer { server.stop() }
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let config = home + "/config.toml"
        try """
            [remotes.here]
            url = "http://127.0.0.1:\(server.port)/v1"
            model = "SmolLM2-135M-Instruct.Q4_1"
            api_key_env = "HERE_KEY"
            context = 2048
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try cli.magi(["--remote", "here", "-p", Self.question, "--temp", "0", "-n", "8", "--json"],
                               environment: ["MAGI_CONFIG": config, "HERE_KEY": "k-42", "HOME": home])
        #expect(run.status == 0 && run.stdout.contains(#""context_size":2048"#), "\(run.stdout) \(run.stderr)")
        try "[remotes.here]\nurl = \"http://x\"\nkey = \"secret\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let bad = try cli.magi(["--remote", "here", "-p", "hi"], environment: ["MAGI_CONFIG": config, "HOME": home])
        #expect(bad.status == 1 && bad.stderr.contains("config.toml:3: unknown key remotes.here.key"), "\(bad.stderr)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func badRemotesAndImagesGiveOneLineErrors() throws {
        let server = try ServeProcess(arguments: [])
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/v1"
        let unreachable = try cli.magi(["--remote", "http://127.0.0.1:1/v1", "-m", "x", "-p", "hi"])
        #expect(unreachable.status == 1 && unreachable.stderr.contains("cannot reach http://127.0.0.1:1/v1/chat/completions"), "\(unreachable.stderr)")
        // Any model name is served unless the server is strict about it.
        let strict = try ServeProcess(arguments: ["--strict-model"])
        defer { strict.stop() }
        let unknown = try cli.magi(["--remote", "http://127.0.0.1:\(strict.port)/v1", "-m", "no-such-model", "-p", "hi"])
        #expect(unknown.status == 1 && unknown.stderr.contains("(404): The model 'no-such-model' does not exist"), "\(unknown.stderr)")
        let notURL = try cli.magi(["--remote", "nowhere", "-p", "hi"])
        #expect(notURL.status == 1 && notURL.stderr.contains("--remote nowhere: neither an http(s) URL nor a remote of config.toml"), "\(notURL.stderr)")
        // An image goes to the server as a data URL; this one's model reads text only and says so.
        let png = NSTemporaryDirectory() + "magi-\(UUID().uuidString).png"
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]).write(to: URL(fileURLWithPath: png))
        defer { try? FileManager.default.removeItem(atPath: png) }
        let image = try cli.magi(["--remote", url, "-p", "What is this?", "-i", png])
        #expect(image.status == 1 && image.stderr.contains("answered 400: this model does not accept images"), "\(image.stderr)")
        let local = try cli.magi(["-p", "What is this?", "-i", png])
        #expect(local.status == 1 && local.stderr.contains("the local engine reads text only"), "\(local.stderr)")
        let notImage = try cli.magi(["--remote", url, "-p", "What is this?", "-i", "/etc/hostname"])
        #expect(notImage.status == 1 && notImage.stderr.contains("/etc/hostname is not a PNG, JPEG, GIF or WebP image"), "\(notImage.stderr)")
    }

    /// A server streaming one event without end (a 256 MiB line) is cut at the event limit with a
    /// one-line error, and magi's peak memory stays far below what the server sent.
    @Test func anEndlessEventIsCutAtItsLimit() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let sent = 256 << 20
        let server = try ScriptedServer(script: [["flood": sent]], home: harness.home)
        defer { server.stop() }
        let run = try MagiRun(["--remote", server.url, "-m", "scripted", "-p", "go"], harness: harness, deadline: 120)
        // VmHWM is the peak resident size; the last reading before magi ends is its peak.
        var peakKiB = 0
        let status = "/proc/\(run.process.processIdentifier)/status"
        while run.process.isRunning {
            if let text = try? String(contentsOfFile: status, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kib = Int(line.split(separator: " ").dropFirst().first ?? "") {
                peakKiB = max(peakKiB, kib)
            }
            usleep(20_000)
        }
        #expect(run.wait() == 1, "\(run.stderr)")
        #expect(run.stderr == "error: remote event exceeds 8 MiB\n", "\(run.stderr.debugDescription)")
        #expect(peakKiB > 0 && peakKiB < 128 << 10, "peak resident size \(peakKiB) KiB while the server sent \(sent >> 20) MiB")
    }

    @Test func aRemoteWindowCountsAnImageAsTokensNotAsItsBytes() throws {
        let png = NSTemporaryDirectory() + "magi-\(UUID().uuidString).png"
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 7, count: 1 << 20)).write(to: URL(fileURLWithPath: png))
        defer { try? FileManager.default.removeItem(atPath: png) }
        let backend = RemoteBackend(client: RemoteChatClient(baseURL: "http://127.0.0.1:1/v1", model: "m", apiKey: nil), contextSize: 40_000)
        let text = Conversation(messages: [.user("What is in this picture?")])
        var withImage = text
        withImage.messages[0].parts.append(.image(try ImageAttachment(path: png)))
        #expect(try backend.measure(withImage) - backend.measure(text) == 1024)
        #expect(try backend.fit(withImage, maxTokens: 100).conversation == withImage)
    }
}
