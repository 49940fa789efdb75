import Foundation
import Testing

/// Turns with tools through the real `magi` binary and the default model (SmolLM2, ChatML): every
/// shipped tool offered at once, forced calls whose arguments `jsonschema` validates, an argument-less
/// tool, and `web_search` against a loopback server answering as each provider does. Each run starts
/// from a fresh folder with its own XDG_CONFIG_HOME and HOME, and is killed past its deadline.
@Suite(.serialized) struct ToolTurnCommandLineTests {
    static var python: String { CommandLineTests.magiHome + "/venv/bin/python" }
    static var hasOracle: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil || FileManager.default.isExecutableFile(atPath: python)
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The `--json` events, one per line.
        var events: [[String: Any]] {
            stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    /// A fresh folder for one test: HOME, XDG_CONFIG_HOME (with `magi/plugins`) and the working folder.
    final class Sandbox {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("magi-toolturn-\(UUID().uuidString)").path
        var plugins: String { root + "/config/magi/plugins" }
        init() throws { try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    /// Runs magi in `sandbox` with `arguments`, killed (SIGKILL) after `seconds`.
    static func magi(_ arguments: [String], in sandbox: Sandbox, environment: [String: String] = [:], seconds: Double = 300) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: sandbox.root)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAGI_") && $0.key != "BRAVE_API_KEY" }
        env["MAGI_HOME"] = CommandLineTests.magiHome
        env["HOME"] = sandbox.root
        env["XDG_CONFIG_HOME"] = sandbox.root + "/config"
        process.environment = env.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let deadline = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: deadline)
        // stderr read on another thread, so neither pipe can fill up and stall magi.
        let errors = ErrorText()
        let done = DispatchSemaphore(value: 0)
        Thread {
            errors.text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            done.signal()
        }.start()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        deadline.cancel()
        done.wait()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self), stderr: errors.text)
    }

    final class ErrorText: @unchecked Sendable { var text = "" }

    /// The parameters schema of every tool `magi tools --json` lists, by name.
    static func schemas(in sandbox: Sandbox) throws -> [String: Any] {
        let listed = try magi(["tools", "--json"], in: sandbox, seconds: 60)
        #expect(listed.status == 0, "\(listed.stderr)")
        var schemas: [String: Any] = [:]
        for event in listed.events { if let name = event["name"] as? String { schemas[name] = event["parameters"] } }
        return schemas
    }

    /// jsonschema's verdict (nil: valid; else its message) on each call's arguments against its tool's schema.
    static func validate(_ calls: [[String: Any]], schemas: [String: Any]) throws -> [String?] {
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator
            for line in sys.stdin:
                r = json.loads(line)
                errors = list(Draft202012Validator(r["schema"], format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(r["arguments"]))
                print(json.dumps(errors[0].message if errors else None), flush=True)
            """
        let lines = try calls.map { call -> String in
            let request: [String: Any] = ["schema": schemas[call["name"] as? String ?? ""] ?? false, "arguments": call["arguments"] ?? NSNull()]
            return String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
        try input.fileHandleForWriting.close()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let verdicts = String(decoding: answer, as: UTF8.self).split(separator: "\n").map { $0 == "null" ? nil : String($0) }
        #expect(verdicts.count == calls.count)
        return verdicts
    }

    static func toolCalls(_ outcome: Outcome) -> [[String: Any]] { outcome.events.filter { $0["type"] as? String == "tool_call" } }

    /// Every built-in tool and every shipped plugin offered at once: a constrained turn, no tool left
    /// unconstrained, and the forced call's arguments valid for its schema.
    @Test(.enabled(if: CommandLineTests.hasModel && hasOracle), arguments: ["all", "web_search,fetch_url,python"])
    func everyShippedToolIsOfferedToTheLocalModel(tools: String) throws {
        let sandbox = try Sandbox()
        let schemas = try Self.schemas(in: sandbox)
        for name in ["web_search", "fetch_url", "python", "calculator", "sqlite", "units"] { #expect(schemas[name] != nil, "\(name) not listed") }
        // A dead SearXNG address: a search fails at once instead of reaching the internet.
        let offline = ["MAGI_SEARXNG_URL": "http://127.0.0.1:9", "MAGI_DUCKDUCKGO_URL": "http://127.0.0.1:9"]
        let free = try Self.magi(["--tools", tools, "-y", "--temp", "0", "-n", "48", "--max-tool-steps", "2", "--json",
                                  "-p", "What is 17 times 23?"], in: sandbox, environment: offline)
        #expect(free.status == 0, "\(free.stderr)")
        #expect(!free.stderr.contains("unconstrained") && !free.stderr.contains("not supported"), "\(free.stderr)")
        // Two steps: the forced call runs (and fails at once, offline), then a free answer.
        let forced = try Self.magi(["--tools", tools, "-y", "--tool-choice", "required", "--temp", "0", "-n", "96",
                                    "--max-tool-steps", "2", "--json", "-p", "Search: Everest"],
                                   in: sandbox, environment: offline)
        #expect(forced.status == 0, "\(forced.stderr)")
        let calls = Self.toolCalls(free) + Self.toolCalls(forced)
        #expect(!Self.toolCalls(forced).isEmpty, "no call in \(forced.stdout)")
        for (call, verdict) in zip(calls, try Self.validate(calls, schemas: schemas)) {
            #expect(verdict == nil, "\(call): \(verdict ?? "")")
        }
    }

    /// A tool without arguments (`{"type": "object", "properties": {}}`, as MCP servers and `llm` send
    /// it), forced: the call's arguments are `{}`, and the call ends well within a small budget.
    @Test(.enabled(if: CommandLineTests.hasModel)) func anArgumentlessToolIsCalledWithAnEmptyObject() throws {
        let sandbox = try Sandbox()
        let folder = sandbox.plugins + "/llm_version"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try #"""
            {"name": "llm_version", "description": "The installed version of llm.", "parameters": {"type": "object", "properties": {}},
             "command": ["version.py"]}
            """#.write(toFile: folder + "/plugin.json", atomically: true, encoding: .utf8)
        try "#!/usr/bin/env python3\nimport json, sys\njson.load(sys.stdin)\nprint(json.dumps({\"result\": \"llm 0.36 (loopback plugin)\"}))\n"
            .write(toFile: folder + "/version.py", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/version.py")
        let r = try Self.magi(["--tools", "llm_version", "-y", "--tool-choice", "required", "--temp", "0", "-n", "40",
                               "--max-tool-steps", "2", "--json", "-p", "Which version of llm is installed?"], in: sandbox)
        #expect(r.status == 0, "\(r.stderr)")
        let calls = Self.toolCalls(r)
        #expect(calls.count >= 1, "\(r.stdout)")
        for call in calls {
            #expect(call["name"] as? String == "llm_version")
            #expect((call["arguments"] as? [String: Any])?.isEmpty == true, "\(call)")
        }
        let results = r.events.filter { $0["type"] as? String == "tool_result" }
        #expect(results.first?["result"] as? String == "llm 0.36 (loopback plugin)", "\(r.stdout)")
    }

    /// A tool whose schema no grammar can enforce (`format: email`, `multipleOf`) is offered with free
    /// arguments and one line on stderr naming it; the turn goes on, the other tools constrained.
    @Test(.enabled(if: CommandLineTests.hasModel)) func aSchemaWithoutAGrammarLeavesOnlyThatToolUnconstrained() throws {
        let sandbox = try Sandbox()
        let folder = sandbox.plugins + "/mailer"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try #"""
            {"name": "mailer", "description": "Sends an e-mail.", "command": ["send.py"],
             "parameters": {"type": "object", "properties": {"to": {"type": "string", "format": "email"}, "copies": {"type": "integer", "multipleOf": 2}}, "required": ["to"]}}
            """#.write(toFile: folder + "/plugin.json", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho '{\"result\": \"sent\"}'\n".write(toFile: folder + "/send.py", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/send.py")
        let r = try Self.magi(["--tools", "calculator,mailer", "--temp", "0", "-n", "24", "--max-tool-steps", "1", "-p", "Hello"], in: sandbox)
        #expect(r.status == 0, "\(r.stderr)")
        let notices = r.stderr.split(separator: "\n").filter { $0.contains("unconstrained") }
        #expect(notices.count == 1, "\(r.stderr)")
        #expect(notices.first?.hasPrefix("magi: tool 'mailer' is offered with unconstrained arguments: JSON schema keyword 'format' at /properties/to") == true,
                "\(r.stderr)")
        #expect(!r.stderr.contains("calculator"), "\(r.stderr)")
    }

    /// A server on 127.0.0.1 answering as DuckDuckGo's HTML page, SearXNG's JSON and Brave's JSON do,
    /// each with its own hit titles; killed when the test ends.
    final class SearchServer {
        let process = Process()
        let port: Int
        var base: String { "http://127.0.0.1:\(port)" }
        static let titles = ["duckduckgo": "Kestrel Peak Survey", "searxng": "Heron Ridge Atlas", "brave": "Osprey Summit Records"]

        init() throws {
            let script = #"""
                import json
                from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
                DDG = ('<div class="result results_links web-result"><h2 class="result__title"><a rel="nofollow" class="result__a" '
                       'href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fkestrel.example%2F&amp;rut=x">Kestrel <b>Peak</b> Survey</a></h2>'
                       '<a class="result__snippet" href="https://kestrel.example/">Heights of peaks.</a></div>')
                SEARX = {"results": [{"url": "https://heron.example/", "title": "Heron Ridge Atlas", "content": "Ridges."}]}
                BRAVE = {"web": {"results": [{"url": "https://osprey.example/", "title": "Osprey Summit Records", "description": "Summits."}]}}
                class Handler(BaseHTTPRequestHandler):
                    def log_message(self, *args): pass
                    def send(self, body, ctype):
                        self.send_response(200)
                        self.send_header("Content-Type", ctype)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    def do_GET(self):
                        if self.path.startswith("/html/"): return self.send(DDG.encode(), "text/html; charset=utf-8")
                        if self.path.startswith("/search?") and "format=json" in self.path: return self.send(json.dumps(SEARX).encode(), "application/json")
                        if self.path.startswith("/res/v1/web/search") and self.headers.get("X-Subscription-Token") == "loopback-key":
                            return self.send(json.dumps(BRAVE).encode(), "application/json")
                        self.send_response(404); self.end_headers()
                server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                server.daemon_threads = True
                print(server.server_address[1], flush=True)
                server.serve_forever()
                """#
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                kill(process.processIdentifier, SIGKILL)
                throw CocoaError(.fileReadCorruptFile)
            }
            self.port = port
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// `web_search` forced, against each provider's loopback double: the tool result in the `--json`
    /// events holds that provider's hit title, and the call's arguments are valid.
    @Test(.enabled(if: CommandLineTests.hasModel && hasOracle), arguments: ["duckduckgo", "searxng", "brave"])
    func aWebSearchReturnsTheProvidersResultsIntoTheConversation(provider: String) throws {
        let server = try SearchServer()
        let sandbox = try Sandbox()
        let environment = ["MAGI_DUCKDUCKGO_URL": server.base, "MAGI_SEARXNG_URL": server.base, "MAGI_BRAVE_URL": server.base,
                           "BRAVE_API_KEY": "loopback-key"]
        let r = try Self.magi(["--tools", "web_search", "--search-provider", provider, "--tool-choice", "required", "-y", "--json",
                               "--temp", "0", "-n", "96", "--max-tool-steps", "2", "-p", "Search: Everest"],
                              in: sandbox, environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let results = r.events.filter { $0["type"] as? String == "tool_result" }
        #expect(results.contains { ($0["result"] as? String)?.contains(SearchServer.titles[provider]!) == true }, "\(r.stdout)\n\(r.stderr)")
        let calls = Self.toolCalls(r)
        #expect(!calls.isEmpty)
        for (call, verdict) in zip(calls, try Self.validate(calls, schemas: try Self.schemas(in: sandbox))) {
            #expect(verdict == nil, "\(call): \(verdict ?? "")")
        }
    }
}
