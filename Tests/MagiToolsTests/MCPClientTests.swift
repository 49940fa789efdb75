import Foundation
@testable import MagiTools
import Testing

/// Where the MCP tests find their servers: a real one written with the official Python SDK
/// (`mcp`, in the oracle venv that `scripts/setup --oracles` makes) and hand-written hostile ones.
enum MCPTestEnvironment {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mcp").path

    /// `MAGI_PYTHON`, else the oracle venv's python.
    static var venvPython: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["MAGI_PYTHON"] ?? (environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi") + "/venv/bin/python"
    }

    /// In CI every test runs, so a missing SDK fails instead of skipping.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    static let hasSDK: Bool = isCI || sdkImports()

    private static func sdkImports() -> Bool {
        guard FileManager.default.isExecutableFile(atPath: venvPython) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: venvPython)
        process.arguments = ["-c", "import mcp.server"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// The SDK server (Fixtures/mcp/server.py): tools add, echo, fail, pixel, sleep.
    static func sdkServer(callTimeout: Duration = .seconds(30)) -> MCPServerConfig {
        MCPServerConfig(name: "sdk", command: [venvPython, fixtures + "/server.py"], startupTimeout: .seconds(60), callTimeout: callTimeout)
    }

    /// The hand-written server (Fixtures/mcp/fake_server.py, standard library only) in `mode`.
    static func fakeServer(_ mode: String, name: String? = nil) -> MCPServerConfig {
        let python = FileManager.default.isExecutableFile(atPath: venvPython) ? venvPython : "python3"
        return MCPServerConfig(name: name ?? mode, command: [python, fixtures + "/fake_server.py", mode], startupTimeout: .seconds(30),
                               callTimeout: .seconds(10))
    }

    /// A "server" that is a shell script.
    static func shellServer(_ name: String, _ script: String, startupTimeout: Duration = .seconds(10)) -> MCPServerConfig {
        MCPServerConfig(name: name, command: ["/bin/sh", "-c", script], startupTimeout: startupTimeout)
    }

    static func arguments(_ members: [(String, JSONValue)]) -> JSONValue {
        .object(members.map { (key: $0.0, value: $0.1) })
    }
}

/// The client against a real server made with the official Python SDK.
@Suite(.serialized, .enabled(if: MCPTestEnvironment.hasSDK)) struct MCPClientTests {
    typealias Env = MCPTestEnvironment

    @Test func listsTheToolsWithTheirSchemas() async throws {
        let client = try await MCPClient.connect(Env.sdkServer())
        defer { client.close() }
        #expect(client.serverName == "magi-test")
        #expect(client.protocolVersion == "2025-11-25")  // the SDK asks for its newest
        let tools = client.tools()
        #expect(tools.map(\.name) == ["add", "echo", "fail", "pixel", "sleep"])
        #expect(tools.allSatisfy { $0.access == .code && $0.timeout == .seconds(30) })
        #expect(tools.first?.description == "Adds two integers.")
        let schema = try JSONValue(parsing: try #require(tools.first).parametersSchema)
        #expect(schema["type"] == .string("object"))
        #expect(schema["properties"]?["a"]?["type"] == .string("integer"))
        #expect(schema["required"] == .array([.string("a"), .string("b")]))
        #expect(client.warnings == [])
        #expect(client.failure == nil)
    }

    @Test func callsReturnTheirResultsAndErrorsBecomeToolErrors() async throws {
        let client = try await MCPClient.connect(Env.sdkServer())
        defer { client.close() }
        let runner = ToolRunner(registry: ToolRegistry(client.tools()))
        #expect(await runner.run("add", arguments: #"{"a": 2, "b": 40}"#) == .success("42"))
        let text = "héllo \"wörld\"\n\tline two 😀 \\ end"
        let arguments = String(decoding: try JSONEncoder().encode(["text": text]), as: UTF8.self)
        #expect(await runner.run("echo", arguments: arguments) == .success(text))
        #expect(await runner.run("pixel", arguments: "{}") == .success("[image: image/png, 70 bytes]"))
        #expect(await runner.run("fail", arguments: #"{"reason": "no such city"}"#)
                == .failure(.failed("Error executing tool fail: no such city")))
        // magi checks the arguments first; past it, the server's own check reports as an error.
        guard case .failure(.invalidArguments) = await runner.run("add", arguments: #"{"a": "x", "b": 1}"#) else {
            Issue.record("wrong arguments reached the server")
            return
        }
        await #expect { try await client.call("add", arguments: Env.arguments([("a", .number("1"))])) } throws: { error in
            guard case ToolError.failed(let message) = error else { return false }
            return message.hasPrefix("Error executing tool add") && message.contains("Field required")
        }
        await #expect(throws: ToolError.failed("Unknown tool: nope")) { try await client.call("nope", arguments: .object([])) }
        #expect(client.failure == nil)
    }

    @Test func concurrentCallsGetTheirOwnAnswers() async throws {
        let client = try await MCPClient.connect(Env.sdkServer())
        defer { client.close() }
        let start = ContinuousClock.now
        async let slow = client.call("sleep", arguments: Env.arguments([("seconds", .number("1"))]))
        async let quick = client.call("sleep", arguments: Env.arguments([("seconds", .number("0.3"))]))
        async let sum = client.call("add", arguments: Env.arguments([("a", .number("1")), ("b", .number("2"))]))
        let results = try await [slow, quick, sum]
        #expect(results == ["slept 1.0 s", "slept 0.3 s", "3"])
        #expect(ContinuousClock.now - start < .seconds(1.9))
    }

    @Test func timeoutsAndCancellationEndTheCallAndTheServerGoesOn() async throws {
        let client = try await MCPClient.connect(Env.sdkServer(callTimeout: .seconds(1)))
        defer { client.close() }
        let long = Env.arguments([("seconds", .number("30"))])
        var start = ContinuousClock.now
        await #expect(throws: ToolError.timedOut(seconds: 0.5)) { try await client.call("sleep", arguments: long, timeout: .milliseconds(500)) }
        #expect(ContinuousClock.now - start < .seconds(2))

        // The runner stops the call at the tool's time limit (the configuration's call timeout).
        start = ContinuousClock.now
        let runner = ToolRunner(registry: ToolRegistry(client.tools()))
        #expect(await runner.run("sleep", arguments: #"{"seconds": 30}"#) == .failure(.timedOut(seconds: 1)))
        #expect(ContinuousClock.now - start < .seconds(3))

        start = ContinuousClock.now
        let tool = try #require(client.tools().first { $0.name == "sleep" })
        let task = Task { try await tool.run(arguments: #"{"seconds": 30}"#) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: ToolError.cancelled) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(2))

        #expect(try await client.call("add", arguments: Env.arguments([("a", .number("2")), ("b", .number("2"))])) == "4")
        #expect(client.failure == nil)
    }

    @Test func closingStopsTheServerAndFailsItsCalls() async throws {
        let client = try await MCPClient.connect(Env.sdkServer())
        let tool = try #require(client.tools().first { $0.name == "sleep" })
        let start = ContinuousClock.now
        let call = Task { try await tool.run(arguments: #"{"seconds": 30}"#) }
        try await Task.sleep(for: .milliseconds(300))
        client.close()
        await #expect(throws: ToolError.failed("MCP server 'sdk' was closed")) { try await call.value }
        #expect(client.waitUntilExited(timeout: .seconds(5)))
        #expect(ContinuousClock.now - start < .seconds(5))
        await #expect(throws: ToolError.failed("MCP server 'sdk' was closed")) { try await tool.run(arguments: #"{"seconds": 1}"#) }
    }

    @Test func releasingTheClientStopsTheServer() async throws {
        var client: MCPClient? = try await MCPClient.connect(Env.sdkServer())
        let pid = try #require(client?.processIdentifier)
        #expect(kill(pid, 0) == 0)
        client = nil
        let deadline = ContinuousClock.now + .seconds(5)
        while kill(pid, 0) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(kill(pid, 0) != 0)
    }
}
