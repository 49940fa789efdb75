import Foundation
@testable import MagiTools
import Testing

/// Servers that misbehave: each ends in a clear one-line error within seconds, never a hang or a
/// crash of magi. They are shell scripts and Fixtures/mcp/fake_server.py (no SDK needed).
@Suite(.serialized) struct MCPHostileServerTests {
    typealias Env = MCPTestEnvironment

    /// The error `connect` throws for `config`, and how long it took.
    func connectError(_ config: MCPServerConfig) async -> (error: (any Error)?, seconds: Double) {
        let start = ContinuousClock.now
        do {
            let client = try await MCPClient.connect(config)
            client.close()
            return (nil, (ContinuousClock.now - start).mcpSeconds)
        } catch {
            return (error, (ContinuousClock.now - start).mcpSeconds)
        }
    }

    @Test func aServerThatExitsAtOnce() async {
        let (error, seconds) = await connectError(Env.shellServer("quits", "echo 'fatal: no API key' >&2; exit 3"))
        #expect(error as? MCPError == .serverGone(server: "quits", reason: "exited with status 3: fatal: no API key"))
        #expect("\(error!)" == "MCP server 'quits' exited with status 3: fatal: no API key")
        #expect(seconds < 3)

        // A program it started holds its output open: the exit is reported a second later.
        let (orphan, later) = await connectError(Env.shellServer("orphan", "sleep 31.4159 & echo bye >&2; exit 1"))
        #expect(orphan as? MCPError == .serverGone(server: "orphan", reason: "exited with status 1: bye"))
        #expect(later < 3)
    }

    @Test func aMissingProgram() async {
        let (error, _) = await connectError(MCPServerConfig(name: "ghost", command: ["magi-no-such-mcp-server"]))
        #expect(error as? MCPError == .cannotStart(server: "ghost", reason: "command 'magi-no-such-mcp-server' not found in PATH"))
        let (relative, _) = await connectError(MCPServerConfig(name: "ghost", command: ["./nowhere/server"], currentDirectory: "/tmp"))
        #expect(relative as? MCPError == .cannotStart(server: "ghost", reason: "no executable at ./nowhere/server"))
    }

    @Test func aServerThatNeverAnswers() async {
        let (error, seconds) = await connectError(Env.shellServer("mute", "exec sleep 30", startupTimeout: .seconds(1)))
        #expect(error as? MCPError == .timedOut(server: "mute", method: "initialize", seconds: 1))
        #expect("\(error!)" == "MCP server 'mute' did not answer initialize within 1 s")
        #expect(seconds < 3)
    }

    @Test func aServerThatWritesOnlyGarbage() async {
        let script = "while :; do echo 'Hello! Not JSON {'; sleep 0.1; done"
        let (error, seconds) = await connectError(Env.shellServer("babble", script, startupTimeout: .seconds(1)))
        guard case .protocolViolation("babble", let reason)? = error as? MCPError else {
            Issue.record("unexpected: \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("no answer to initialize within 1 s, only "))
        #expect(reason.hasSuffix(" lines that are not JSON-RPC, the first: Hello! Not JSON {"))
        #expect(seconds < 3)

        let (quits, _) = await connectError(Env.shellServer("babble", "echo 'not json'; echo '[1, 2]'; exit 0"))
        #expect(quits as? MCPError == .serverGone(server: "babble", reason: "exited with status 0"))
    }

    @Test func aServerThatClosesItsOutputButRuns() async {
        let (error, seconds) = await connectError(Env.shellServer("closed", "exec >&-; exec sleep 30"))
        #expect(error as? MCPError == .serverGone(server: "closed", reason: "closed its output and was stopped"))
        #expect(seconds < 4)
    }

    @Test func aServerOfAnotherProtocolVersion() async {
        let (error, _) = await connectError(Env.fakeServer("version"))
        #expect("\(error!)" == "MCP server 'version' broke the protocol: it speaks protocol version '1999-01-01'; magi speaks 2024-11-05 to 2025-11-25")
    }

    @Test func aServerThatCrashesMidCall() async throws {
        let client = try await MCPClient.connect(Env.fakeServer("crash"))
        defer { client.close() }
        let start = ContinuousClock.now
        let crashed = ToolError.failed("MCP server 'crash' crashed (signal 9): about to crash")
        await #expect(throws: crashed) { try await client.call("boom", arguments: .object([])) }
        #expect(ContinuousClock.now - start < .seconds(3))
        await #expect(throws: crashed) { try await client.call("boom", arguments: .object([])) }
        #expect(client.failure == .serverGone(server: "crash", reason: "crashed (signal 9): about to crash"))
    }

    @Test func malformedToolsAreSkippedWithAWarning() async throws {
        let client = try await MCPClient.connect(Env.fakeServer("tools"))
        defer { client.close() }
        let tools = client.tools()
        #expect(tools.map(\.name) == ["good", "dotted_name_with_space", "untitled"])
        #expect(tools.map(\.remoteName) == ["good", "dotted.name/with space", "untitled"])
        #expect(tools.map(\.description) == ["test", "test", ""])
        #expect(tools.first?.parametersSchema == #"{"type": "object", "properties": {"x": {"type": "integer"}}}"#)
        #expect(client.warnings == [
            "MCP server 'tools': skipped a tool that is not an object: 42",
            #"MCP server 'tools': skipped a tool without a "name": {"description":"no name","inputSchema":{"type":"object"}}"#,
            #"MCP server 'tools': skipped tool 'bad_schema': its "inputSchema" is not a JSON Schema object"#,
            #"MCP server 'tools': skipped tool 'bad_description': its "description" is not a string"#,
            "MCP server 'tools': skipped a second tool named 'good'",
        ])
        #expect(try await tools[1].run(arguments: #"{"k": [1, "two"]}"#) == #"called dotted.name/with space with {"k": [1, "two"]}"#)
        #expect(tools[1].prefixed().name == "tools__dotted_name_with_space")
        #expect(try await tools[1].prefixed().run(arguments: "") == "called dotted.name/with space with {}")
        await #expect(throws: ToolError.invalidArguments("the arguments must be a JSON object")) { try await tools[0].run(arguments: "[1]") }
    }

    @Test func requestsAndNotificationsFromTheServerAreHandled() async throws {
        let client = try await MCPClient.connect(Env.fakeServer("chatty"))
        defer { client.close() }
        #expect(client.warnings == ["MCP server 'chatty': ignored a line that is not JSON-RPC: Starting the chatty server..."])
        let replies = try JSONValue(parsing: try await client.call("replies", arguments: .object([])))
        #expect(replies == (try JSONValue(parsing: """
            [{"id": "s1", "jsonrpc": "2.0", "result": {}},
             {"error": {"code": -32601, "data": {"detail": "Unknown method: roots/list"}, "message": "Method not found: Unknown method: roots/list"},
              "id": 7, "jsonrpc": "2.0"}]
            """)))
    }

    @Test func aHugeMessageIsDroppedAndTheServerGoesOn() async throws {
        let client = try await MCPClient.connect(Env.fakeServer("huge"))
        defer { client.close() }
        await #expect(throws: ToolError.failed("MCP server 'huge' broke the protocol: it sent a message longer than 1 MB, which was dropped")) {
            try await client.call("huge", arguments: .object([]))
        }
        #expect(try await client.call("small", arguments: .object([])) == "called small with {}")
        #expect(client.warnings == ["MCP server 'huge': dropped a message longer than 1 MB"])
    }

    @Test func errorAnswersBecomeToolErrors() async throws {
        let client = try await MCPClient.connect(Env.fakeServer("rpc-error", name: "rpc"))
        defer { client.close() }
        await #expect(throws: ToolError.failed("MCP server 'rpc' answered tools/call with an error: Unknown tool: anything (code -32602)")) {
            try await client.call("anything", arguments: .object([]))
        }
    }
}

/// Tool results as text, and the configuration document.
@Suite struct MCPFormatTests {
    @Test func contentItemsBecomeText() throws {
        let result = try JSONValue(parsing: """
            {"content": [
              {"type": "text", "text": "first"},
              {"type": "audio", "mimeType": "audio/wav", "data": "UklGRg=="},
              {"type": "image", "mimeType": "image/png", "data": "iVBORw0KGgo"},
              {"type": "resource", "resource": {"uri": "file:///a.txt", "mimeType": "text/plain", "text": "inside a.txt"}},
              {"type": "resource", "resource": {"uri": "file:///b.bin", "blob": "AAECAw=="}},
              {"type": "resource_link", "uri": "file:///c.md", "name": "c.md"},
              {"type": "hologram"}
            ]}
            """)
        #expect(MCPClient.text(of: result) == """
            first
            [audio: audio/wav, 4 bytes]
            [image: image/png, 8 bytes]
            inside a.txt
            [resource: file:///b.bin, unknown type, 4 bytes]
            [resource link: c.md file:///c.md]
            [hologram content]
            """)
        #expect(MCPClient.text(of: try JSONValue(parsing: #"{"content": [], "structuredContent": {"n": 1}}"#)) == #"{"n": 1}"#)
        #expect(MCPClient.text(of: try JSONValue(parsing: #"{"content": []}"#)) == "(no output)")
    }

    @Test func claudeDesktopConfigurationsAreRead() throws {
        let servers = try MCPServerConfig.servers(parsing: """
            {"mcpServers": {
              "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
              "off": {"command": "x", "disabled": true},
              "weather": {"command": "/opt/weather", "env": {"API_KEY": "k"}, "cwd": "/opt", "timeout_seconds": 5}
            }}
            """)
        #expect(servers == [
            MCPServerConfig(name: "files", command: ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp"]),
            MCPServerConfig(name: "weather", command: ["/opt/weather"], environment: ["API_KEY": "k"], currentDirectory: "/opt",
                            callTimeout: .seconds(5)),
        ])
        #expect(try MCPServerConfig.servers(parsing: #"{"servers": {"a": {"type": "stdio", "command": "a"}}}"#).map(\.name) == ["a"])
        #expect(try MCPServerConfig.servers(parsing: #"{"mcpServers": {}}"#) == [])
    }

    @Test func remoteServersTakeTheirHeadersFromTheEnvironment() throws {
        let servers = try MCPServerConfig.servers(parsing: """
            {"servers": {"remote": {"type": "http", "url": "https://mcp.example/mcp",
              "headers": {"Authorization": "Bearer ${MCP_TOKEN}", "X-Team": "${TEAM:-core}-${REGION:-eu}", "X-Plain": "as is"}}}}
            """)
        #expect(servers == [MCPServerConfig(name: "remote", command: [], url: "https://mcp.example/mcp",
                                            headers: ["Authorization": "Bearer ${MCP_TOKEN}", "X-Team": "${TEAM:-core}-${REGION:-eu}", "X-Plain": "as is"])])
        let resolved = try servers[0].resolvedHeaders(environment: ["MCP_TOKEN": "s3cr3t", "REGION": "us", "TEAM": ""])
        #expect(resolved.map { "\($0.name): \($0.value)" } == ["Authorization: Bearer s3cr3t", "X-Plain: as is", "X-Team: core-us"])
        #expect(throws: MCPError.invalidConfiguration("server 'remote': header 'Authorization' uses ${MCP_TOKEN}, which is not set")) {
            try servers[0].resolvedHeaders(environment: [:])
        }
        #expect(throws: MCPError.invalidConfiguration("server 'remote': header 'Authorization' has a line break once expanded")) {
            try servers[0].resolvedHeaders(environment: ["MCP_TOKEN": "a\r\nX-Evil: 1"])
        }
    }

    @Test func badConfigurationsSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("{", "not valid JSON"),
            ("[]", "the document must be a JSON object"),
            ("{}", "no \"mcpServers\" object"),
            (#"{"mcpServers": []}"#, "\"mcpServers\" must be an object"),
            (#"{"mcpServers": {"a": 1}}"#, "server 'a': must be an object"),
            (#"{"mcpServers": {"a": {"args": []}}}"#, "server 'a': \"command\" must be a non-empty string"),
            (#"{"mcpServers": {"a": {"url": "ftp://x"}}}"#, "server 'a': \"url\" must be an http:// or https:// URL"),
            (#"{"mcpServers": {"a": {"url": "https://x", "command": "a"}}}"#, "server 'a': give \"command\" or \"url\", not both"),
            (#"{"mcpServers": {"a": {"url": "https://x", "headers": {"A": 1}}}}"#, "server 'a': \"headers\" must be an object of strings"),
            (#"{"mcpServers": {"a": {"url": "https://x", "headers": {"A": "x\ny"}}}}"#, "server 'a': the value of header 'A' has a line break"),
            (#"{"mcpServers": {"a": {"type": "http", "command": "a"}}}"#, "server 'a': \"type\" \"http\" needs a \"url\""),
            (#"{"mcpServers": {"a": {"type": "sse", "command": "a"}}}"#,
             "server 'a': \"type\" \"sse\" is not supported (\"stdio\" with \"command\", or \"http\" with \"url\")"),
            (#"{"mcpServers": {"a": {"command": "a", "args": "-v"}}}"#, "server 'a': \"args\" must be a list of strings"),
            (#"{"mcpServers": {"a": {"command": "a", "env": {"K": 1}}}}"#, "server 'a': \"env\" must be an object of strings"),
            (#"{"mcpServers": {"a": {"command": "a", "cwd": ""}}}"#, "server 'a': \"cwd\" must be a non-empty string"),
            (#"{"mcpServers": {"a": {"command": "a", "timeout_seconds": 0}}}"#, "server 'a': \"timeout_seconds\" must be a number between 0 and 3600"),
        ]
        for (text, reason) in cases {
            #expect(throws: MCPError.self) { try MCPServerConfig.servers(parsing: text) }
            do {
                _ = try MCPServerConfig.servers(parsing: text)
            } catch {
                guard case .invalidConfiguration(let message) = error else { Issue.record("\(error)"); continue }
                #expect(message == reason || (reason == "not valid JSON" && message.hasPrefix(reason)), "\(text)")
            }
        }
        #expect(throws: MCPError.invalidConfiguration("cannot read /nonexistent/mcp.json")) {
            try MCPServerConfig.servers(file: "/nonexistent/mcp.json")
        }
    }
}
