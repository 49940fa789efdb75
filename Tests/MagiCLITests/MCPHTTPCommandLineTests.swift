import Foundation
import Testing

/// A remote MCP server over Streamable HTTP — the official Python SDK's, on loopback, refusing
/// requests without its bearer token — through the `magi` executable: its tools listed and
/// called with the token taken from magi's environment (`${MCP_TOKEN}` in the configuration), a
/// wrong token refused in one line, and control sequences in a result shown, not executed.
@Suite(.serialized) struct MCPHTTPCommandLineTests {
    static var enabled: Bool { ToolCommandLineTests.hasMCP }

    /// An MCP configuration with the server `remote` at `server`, its token from `$MCP_TOKEN`.
    static func config(_ harness: ChildHarness, _ server: HTTPMCPServer, authorization: String = "Bearer ${MCP_TOKEN}") throws -> String {
        try harness.mcpConfig(["remote": #"{"url": "\#(server.url)", "headers": {"Authorization": "\#(authorization)"}, "startup_timeout_seconds": 60}"#])
    }

    @Test(.enabled(if: enabled)) func toolsAreListedAndCalledWithTheTokenFromTheEnvironment() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let server = try HTTPMCPServer(token: "t-\(UUID().uuidString.prefix(8))", home: harness.home)
        defer { server.stop() }
        let mcp = try Self.config(harness, server)
        let listed = try MagiRun(["tools", "--mcp-config", mcp, "--json"], harness: harness, environment: ["MCP_TOKEN": server.token])
        #expect(listed.wait() == 0, "\(listed.stderr)")
        let entries = try listed.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let remote = entries.filter { $0["source"] as? String == "MCP server remote" }.compactMap { $0["name"] as? String }
        #expect(remote == ["add", "escapes", "headers"], "\(listed.stdout) \(listed.stderr)")
        let add = try #require(entries.first { $0["name"] as? String == "add" })
        #expect(((add["parameters"] as? [String: Any])?["required"] as? [String]) == ["a", "b"])

        let called = try MagiRun(["tool", "--mcp-config", mcp, "add", #"{"a": 2, "b": 40}"#], harness: harness, environment: ["MCP_TOKEN": server.token])
        #expect(called.wait() == 0, "\(called.stderr)")
        #expect(called.stdout == #"{"result":"42"}"# + "\n", "\(called.stdout) \(called.stderr)")
        // The session the server opened is carried on, with the version agreed on.
        let seen = try MagiRun(["tool", "--mcp-config", mcp, "headers", "{}"], harness: harness, environment: ["MCP_TOKEN": server.token])
        #expect(seen.wait() == 0, "\(seen.stderr)")
        #expect(seen.stdout.contains("mcp-session-id") && seen.stdout.contains("mcp-protocol-version"), "\(seen.stdout)")
    }

    @Test(.enabled(if: enabled)) func aRemoteServerInConfigTomlJoinsTheTools() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let server = try HTTPMCPServer(token: "toml-token", home: harness.home)
        defer { server.stop() }
        try """
            [mcp_servers.remote]
            url = "\(server.url)"
            headers = { Authorization = "Bearer ${MCP_TOKEN}" }
            startup_timeout_seconds = 60
            """.write(toFile: harness.home + "/config/magi/config.toml", atomically: true, encoding: .utf8)
        let called = try MagiRun(["tool", "add", #"{"a": 1, "b": 2}"#], harness: harness, environment: ["MCP_TOKEN": "toml-token"])
        #expect(called.wait() == 0, "\(called.stderr)")
        #expect(called.stdout == #"{"result":"3"}"# + "\n", "\(called.stdout) \(called.stderr)")
        // `magi config` names the server by its URL and shows no header (a token may be written there).
        let shown = try MagiRun(["config"], harness: harness)
        #expect(shown.wait() == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("mcp_servers.remote") && shown.stdout.contains(server.url) && !shown.stdout.contains("Bearer"), "\(shown.stdout)")
    }

    @Test(.enabled(if: enabled)) func aWrongOrMissingTokenIsOneClearLine() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let server = try HTTPMCPServer(token: "right", home: harness.home)
        defer { server.stop() }
        let mcp = try Self.config(harness, server)
        let wrong = try MagiRun(["tools", "--mcp-config", mcp], harness: harness, environment: ["MCP_TOKEN": "wrong"])
        #expect(wrong.wait() == 0, "\(wrong.stderr)")
        let lines = wrong.stderr.split(separator: "\n")
        #expect(lines.filter { $0.contains("remote") } == [
            #"magi: MCP server skipped: MCP server 'remote' answered HTTP 401: {"error": "invalid_token", "error_description": "The token is missing or wrong"}"#,
        ], "\(wrong.stderr)")
        #expect(!wrong.stdout.contains("MCP server remote"))
        // A variable the configuration names but magi's environment lacks: said before any request.
        let unset = try MagiRun(["tools", "--mcp-config", mcp], harness: harness)
        #expect(unset.wait() == 0, "\(unset.stderr)")
        #expect(unset.stderr.contains("magi: MCP server skipped: MCP configuration: server 'remote': header 'Authorization' uses ${MCP_TOKEN}, which is not set\n"),
                "\(unset.stderr)")
        // Nothing listens: one line too.
        let closed = try harness.mcpConfig(["remote": #"{"url": "http://127.0.0.1:1/mcp"}"#])
        let refused = try MagiRun(["tools", "--mcp-config", closed], harness: harness)
        #expect(refused.wait() == 0, "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").contains { $0.hasPrefix("magi: MCP server skipped: MCP server 'remote' cannot be reached: ") }, "\(refused.stderr)")
    }

    @Test(.enabled(if: enabled && TerminalSafetyTests.enabled)) func controlSequencesInAResultArriveVisible() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let server = try HTTPMCPServer(token: "tok", home: harness.home)
        defer { server.stop() }
        // The token's default, as `${NAME:-default}` gives it when NAME is unset.
        let mcp = try Self.config(harness, server, authorization: "Bearer ${MAGI_TEST_UNSET_TOKEN:-tok}")
        let model = try ScriptedServer(script: [["tool_call": ["name": "escapes", "arguments": "{}"]], ["content": "done"]], home: harness.home)
        defer { model.stop() }
        let (screen, bytes, titles) = try TerminalSafetyTests.inTmux(harness: harness, ["--remote", model.url, "--mcp-config", mcp,
                                                                                         "--tools", "escapes", "--yes", "-p", "go"])
        #expect(titles.before == titles.after, "the title became \(titles.after)")
        #expect(screen.contains("BEFORE-MAGI") && screen.contains("mcp says ^[]52;c;bWNw^G and ^[]0;mcp-title^G then ^[[2J"), "\(screen)")
        let written = String(decoding: bytes, as: UTF8.self)
        #expect(written.contains("mcp says"))
        for sequence in TerminalSafetyTests.live { #expect(!written.contains(sequence), "\(sequence.debugDescription) reached the terminal") }
    }
}

/// `Fixtures/mcp/http_server.py` (MagiToolsTests) on loopback: a Streamable HTTP MCP server that
/// wants `Authorization: Bearer TOKEN`.
final class HTTPMCPServer {
    private let server: PortFileServer
    let token: String
    var port: Int { server.port }

    init(token: String, home: String) throws {
        self.token = token
        server = try PortFileServer(python: ChildHarness.venvPython, script: ChildHarness.mcpFixtures + "/http_server.py",
                                    arguments: [token], environment: ["PATH": "/usr/bin:/bin", "HOME": home], home: home,
                                    startWithin: 60, deadline: 300)
    }

    var url: String { "http://127.0.0.1:\(port)/mcp" }

    func stop() { server.stop() }
}
