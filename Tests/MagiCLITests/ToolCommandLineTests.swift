import Foundation
import Testing

/// Tools through the `magi` executable, its engine and the default model: `--tool-choice required`
/// makes the model's first reply a call, so the loop runs deterministically at `--temp 0`.
@Suite(.serialized) struct ToolCommandLineTests {
    static var hasModel: Bool { CommandLineTests.hasModel }

    func magi(_ arguments: [String]) throws -> CommandLineTests.Outcome { try CommandLineTests().magi(arguments) }

    @Test(.enabled(if: hasModel)) func theModelCallsThePluginAndSeesItsResult() throws {
        let run = try magi(["--tools", "calculator", "--tool-choice", "required", "--temp", "0", "-n", "40", "-t", "2",
                            "-p", "What is 1234 * 5678? Use the calculator."])
        #expect(run.status == 0)
        let lines = run.stderr.split(separator: "\n").map(String.init)
        let call = try #require(lines.first { $0.hasPrefix("⚙ calculator {\"expression\": ") })
        // The 135M model may write a valid call the calculator cannot evaluate: then the error is its result.
        #expect(lines.contains { $0.hasPrefix("  → ") || $0.hasPrefix("  ✗ the tool failed: ") }, "\(run.stderr)")
        #expect(!call.isEmpty && !run.stdout.isEmpty)
        // An integer expression's result is Python's value of it (the calculator keeps fractions exact).
        let arguments = try JSONSerialization.jsonObject(with: Data(call.dropFirst("⚙ calculator ".count).utf8)) as? [String: Any]
        if let expression = arguments?["expression"] as? String, expression.allSatisfy({ "0123456789+-*() ".contains($0) }),
           let result = lines.first(where: { $0.hasPrefix("  → ") }) {
            let python = try TestProcess.run("/usr/bin/python3", ["-c", "import sys; print(eval(sys.argv[1], {'__builtins__': {}}))", expression])
            let value = python.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(python.status != 0 || result.dropFirst(4).trimmingCharacters(in: .whitespaces) == value, "\(expression): \(result) vs \(value)")
        }
    }

    @Test(.enabled(if: hasModel)) func aNetworkToolIsRefusedInAPipeWithoutPermission() throws {
        let run = try magi(["--tools", "fetch_url", "--tool-choice", "required", "--temp", "0", "-n", "100", "-t", "2",
                            "-p", "Fetch http://127.0.0.1:1/ please."])
        #expect(run.status == 0)
        #expect(run.stderr.contains("  ✗ not run: 'fetch_url' uses network and needs permission: pass --yes or --allow-tool fetch_url"),
                "\(run.stderr)")
    }

    /// The oracle venv's python, which has the `mcp` SDK the fixture server is written with.
    static var venvPython: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["MAGI_PYTHON"] ?? (environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi") + "/venv/bin/python"
    }
    static var hasMCP: Bool { ProcessInfo.processInfo.environment["CI"] != nil || FileManager.default.isExecutableFile(atPath: venvPython) }

    /// A configuration naming the SDK fixture server, and a server that cannot start.
    static func mcpConfig() throws -> String {
        let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../MagiToolsTests/Fixtures/mcp/server.py").standardized.path
        let path = NSTemporaryDirectory() + "magi-mcp-\(UUID().uuidString).json"
        let config = #"{"mcpServers": {"sdk": {"command": "\#(venvPython)", "args": ["\#(server)"]}, "gone": {"command": "/nonexistent/server"}}}"#
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(.enabled(if: hasModel && hasMCP)) func theModelCallsAnMCPServersToolAndSeesItsResult() throws {
        let config = try Self.mcpConfig()
        defer { try? FileManager.default.removeItem(atPath: config) }
        let run = try magi(["--mcp-config", config, "--tools", "add", "--tool-choice", "required", "-y", "--temp", "0", "-n", "40", "-t", "2",
                            "-p", "What is 2 + 3? Use the add tool."])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("magi: MCP server skipped: MCP server 'gone' cannot start"), "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n").map(String.init)
        // Whatever integers the model passes, the server's sum must come back as the result.
        let call = try #require(lines.firstIndex { $0.hasPrefix("⚙ add ") }, "\(run.stderr)")
        let arguments = try #require(try JSONSerialization.jsonObject(with: Data(lines[call].dropFirst(6).utf8)) as? [String: Int])
        #expect(lines[call + 1] == "  → \(arguments["a"]! + arguments["b"]!)", "\(run.stderr)")
    }

    @Test(.enabled(if: hasMCP)) func toolsListsBuiltinsPluginsAndMCPTools() throws {
        let config = try Self.mcpConfig()
        defer { try? FileManager.default.removeItem(atPath: config) }
        let run = try magi(["tools", "--mcp-config", config, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let entries = try run.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let sources = Dictionary(entries.map { ($0["name"] as! String, $0["source"] as! String) }, uniquingKeysWith: { a, _ in a })
        #expect(sources["web_search"] == "built-in" && sources["calculator"]?.hasPrefix("plugin ") == true)
        #expect(sources["add"] == "MCP server sdk" && sources["echo"] == "MCP server sdk")
        let add = try #require(entries.first { $0["name"] as? String == "add" })
        #expect((add["access"] as? [String]) == ["code"])
        #expect(((add["parameters"] as? [String: Any])?["required"] as? [String]) == ["a", "b"])
        let bad = try magi(["tools", "--mcp-config", "/nonexistent/mcp.json"])
        #expect(bad.status == 1 && bad.stderr == "Error: MCP configuration: cannot read /nonexistent/mcp.json\n", "\(bad.stderr)")
    }

    @Test(.enabled(if: hasMCP)) func serversStartSideBySideAndTheirToolsKeepTheConfiguredOrder() throws {
        let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../MagiToolsTests/Fixtures/mcp/server.py").standardized.path
        let path = NSTemporaryDirectory() + "magi-mcp-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let entry = #"{"command": "\#(Self.venvPython)", "args": ["\#(server)"]}"#
        try #"{"mcpServers": {"first": \#(entry), "gone": {"command": "/nonexistent/server"}, "second": \#(entry)}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let run = try magi(["tools", "--mcp-config", path, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let entries = try run.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let mcp = entries.filter { ($0["source"] as? String)?.hasPrefix("MCP server ") == true }.map { "\($0["name"]!) \($0["source"]!)" }
        #expect(mcp.prefix(2) == ["add MCP server first", "echo MCP server first"], "\(mcp)")
        #expect(mcp.contains("second__add MCP server second") && mcp.count == 10, "\(mcp)")
        #expect(run.stderr.contains("MCP server 'gone' cannot start"))
    }

    @Test(.enabled(if: hasMCP)) func mcpServersListedInConfigTomlJoinTheTools() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../MagiToolsTests/Fixtures/mcp/server.py").standardized.path
        try FileManager.default.createDirectory(atPath: home + "/magi", withIntermediateDirectories: true)
        try """
            # MCP servers as Claude Desktop lists them
            [mcp_servers.sdk]
            command = "\(Self.venvPython)"
            args = ["\(server)"]
            """.write(toFile: home + "/magi/config.toml", atomically: true, encoding: .utf8)
        let cli = CommandLineTests()
        let listed = try cli.magi(["tools"], environment: ["XDG_CONFIG_HOME": home])
        #expect(listed.status == 0 && listed.stdout.contains("(MCP server sdk)"), "\(listed.stdout) \(listed.stderr)")
        let shown = try cli.magi(["config"], environment: ["XDG_CONFIG_HOME": home])
        #expect(shown.stdout.contains("mcp_servers.sdk") && shown.stdout.contains("config.toml:2"), "\(shown.stdout)")

        try "[mcp_servers.broken]\nargs = [\"x\"]\n".write(toFile: home + "/magi/config.toml", atomically: true, encoding: .utf8)
        let broken = try cli.magi(["tools"], environment: ["XDG_CONFIG_HOME": home])
        #expect(broken.status == 1 && broken.stderr.contains("config.toml:1: ") && broken.stderr.contains("command"), "\(broken.stderr)")
    }

    @Test func badToolFlagsAreRejected() throws {
        let unknown = try magi(["--tools", "nope", "-p", "hi"])
        #expect(unknown.status == 1 && unknown.stderr.contains("--tools: no tool named 'nope'; the tools are: web_search, fetch_url, python, calculator, sqlite, units"))
        let required = try magi(["--tool-choice", "required", "-p", "hi"])
        #expect(required.status != 0 && required.stderr.contains("--tool-choice required needs --tools"))
        let provider = try magi(["--tools", "web_search", "--search-provider", "bing", "-p", "hi"])
        #expect(provider.status == 1 && provider.stderr.contains("unknown provider 'bing'"))
    }
}
