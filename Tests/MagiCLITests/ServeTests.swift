import Foundation
import Testing

/// `magi serve` driven by the official `openai` Python client (PyPI), the reference for what an
/// OpenAI-compatible server must accept and answer.
@Suite(.serialized) struct ServeTests {
    static var hasClient: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil
            || (CommandLineTests.hasModel && FileManager.default.isExecutableFile(atPath: ToolCommandLineTests.venvPython))
    }

    @Test(.enabled(if: hasClient)) func theOpenAIClientGetsAnswersStreamsToolCallsAndErrors() throws {
        let server = try ServeProcess(arguments: ["--api-key", "sekrit", "-c", "2048", "--strict-model"])
        defer { server.stop() }
        let checks = try server.runClientChecks(group: "api", key: "sekrit")
        for name in ["models", "plain", "stream_equals_whole", "max_tokens_length", "stop_sequence", "tools_required", "tools_streamed",
                     "tool_result_round_trip", "response_format_json_schema", "response_format_json_object", "reasoning_fields", "completions",
                     "completions_stream", "error_api_key", "error_unknown_model", "error_bad_request", "error_context_length",
                     "error_malformed_json_and_huge_body", "client_gone_mid_stream"] {
            let check = checks[name]
            #expect(check?.ok == true, "\(name): \(check?.detail ?? "did not run")")
        }
        #expect(server.isRunning)
    }

    @Test(.enabled(if: hasClient)) func eightConcurrentStreamingClientsGetTheirOwnCompleteAnswers() throws {
        let server = try ServeProcess(arguments: [])
        defer { server.stop() }
        let checks = try server.runClientChecks(group: "load", key: "none")
        for name in ["load_all_complete_and_correct", "load_server_alive_after"] {
            #expect(checks[name]?.ok == true, "\(name): \(checks[name]?.detail ?? "did not run")")
        }
        #expect(server.isRunning)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aPortInUseIsAOneLineError() throws {
        let server = try ServeProcess(arguments: [])
        defer { server.stop() }
        let run = try CommandLineTests().magi(["serve", "--port", String(server.port)])
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("magi serve: error: cannot serve on 127.0.0.1:\(server.port)") || run.stderr.contains("cannot serve on 127.0.0.1:\(server.port)"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }
}

/// A `magi serve` on a free loopback port, stopped at the end of a test.
final class ServeProcess {
    let process = Process()
    let port: Int
    private let errors = Pipe()

    /// Starts the server with the default model, 2 threads and `arguments`; returns once it listens.
    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: CommandLineTests.executable)
        process.arguments = ["serve", "--port", "0", "-t", "2"] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAGI_") || $0.key == "MAGI_HOME" }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
            let text = String(decoding: seen, as: UTF8.self)
            if let range = text.range(of: #"http://127\.0\.0\.1:(\d+)/v1"#, options: .regularExpression) {
                port = Int(text[range].dropFirst("http://127.0.0.1:".count).dropLast(3))!
                return
            }
        }
        process.terminate()
        throw ServeError("magi serve did not start: \(String(decoding: seen, as: UTF8.self))")
    }

    var isRunning: Bool { process.isRunning }

    /// Runs the `openai` client checks of `group`; returns each check's verdict by name.
    func runClientChecks(group: String, key: String) throws -> [String: (ok: Bool, detail: String)] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/openai/client_checks.py").path
        let python = Process()
        python.executableURL = URL(fileURLWithPath: ToolCommandLineTests.venvPython)
        python.arguments = [script, "http://127.0.0.1:\(port)/v1", key, "SmolLM2-135M-Instruct.Q4_1", group]
        let out = Pipe(), err = Pipe()
        python.standardOutput = out
        python.standardError = err
        try python.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let problems = err.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        var checks: [String: (ok: Bool, detail: String)] = [:]
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let name = object["check"] as? String else { continue }
            checks[name] = (object["ok"] as? Bool ?? false, object["detail"] as? String ?? "")
        }
        if python.terminationStatus != 0 { throw ServeError("the client checks failed: \(String(decoding: problems, as: UTF8.self))") }
        return checks
    }

    func stop() {
        guard process.isRunning else { return }
        process.interrupt()
        process.waitUntilExit()
    }
}

struct ServeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
