import Foundation
@testable import MagiTools
import Testing

/// Programs magi starts — plugins, MCP servers — see only the environment they are meant to, run in
/// process groups of their own, and leave nothing running once magi is done with them.
@Suite struct ChildProcessSafetyTests {
    /// The pids of running processes whose command line holds `marker` (zombies have none).
    static func processes(marked marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).split(separator: "\0").contains { $0 == marker }
        }
    }

    /// The processes marked `marker` still there after up to `seconds` (killed ones take a moment
    /// to be reaped); they are killed, so a failing test leaves nothing behind either.
    static func survivors(marked marker: String, within seconds: Double = 2) -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if processes(marked: marker).isEmpty { return [] }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let left = processes(marked: marker)
        left.forEach { kill($0, SIGKILL) }  // the test cleans up after a failure
        return left
    }

    static func marker() -> String { "magi-test-marker-\(UUID().uuidString.prefix(8))" }

    @Test func theEnvironmentIsTheAllowListPlusWhatIsNamed() {
        let magi = ["PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8", "LC_ALL": "C", "TERM": "xterm", "TMPDIR": "/t",
                    "OPENAI_API_KEY": "secret", "BRAVE_API_KEY": "brave", "SSH_AUTH_SOCK": "/s"]
        let child = ChildEnvironment.make(passing: ["BRAVE_API_KEY", "NOT_SET"], adding: ["TOKEN": "given", "HOME": "/server"], from: magi)
        #expect(child == ["PATH": "/bin", "HOME": "/server", "LANG": "C.UTF-8", "LC_ALL": "C", "TERM": "xterm", "TMPDIR": "/t",
                          "BRAVE_API_KEY": "brave", "TOKEN": "given", "PWD": FileManager.default.currentDirectoryPath])
    }

    @Test func aPluginSeesOnlyItsVariablesAndLeavesNothingRunning() async throws {
        let root = NSTemporaryDirectory() + "magi-plugin-env-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let marker = Self.marker()
        setenv("MAGI_TEST_SECRET_KEY", "secret", 1)
        setenv("MAGI_TEST_PASSED_KEY", "passed", 1)
        let manifest = #"{"name": "envdump", "description": "test", "parameters": {"type": "object"}, "command": "run", "env": ["MAGI_TEST_PASSED_KEY"]}"#
        // It leaves a grandchild behind in its group, and reports its environment and group.
        try PluginToolTests.makePlugin(in: root, folder: "envdump", manifest: manifest, script: """
            /usr/bin/python3 -c 'import time; time.sleep(1000)' \(marker) </dev/null >/dev/null 2>&1 &
            exec /usr/bin/python3 -c 'import json, os; print(json.dumps({"result": {"env": dict(os.environ), "leader": os.getpgrp() == os.getpid()}}))'
            """)
        let tool = try PluginTool(folder: root + "/envdump")
        let result = try JSONSerialization.jsonObject(with: Data(try await tool.run(arguments: "{}").utf8)) as? [String: Any]
        let environment = try #require(result?["env"] as? [String: String])
        #expect(environment["MAGI_TEST_SECRET_KEY"] == nil && environment["MAGI_TEST_PASSED_KEY"] == "passed")
        #expect(environment["PATH"] == ProcessInfo.processInfo.environment["PATH"])
        #expect(Set(environment.keys).isSubset(of: ChildEnvironment.allowedNames.union(["MAGI_TEST_PASSED_KEY", "PWD"]))
                || environment.keys.contains { $0.hasPrefix("LC_") }, "\(environment.keys.sorted())")
        #expect(result?["leader"] as? Bool == true)
        #expect(Self.survivors(marked: marker).isEmpty)
    }

    @Test func aManifestEnvMustBeVariableNames() throws {
        let root = NSTemporaryDirectory() + "magi-plugin-badenv-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try PluginToolTests.makePlugin(in: root, folder: "bad", manifest: #"{"name": "bad", "description": "t", "parameters": {"type": "object"}, "command": "run", "env": ["A B"]}"#, script: "true")
        #expect(throws: PluginError.invalidManifest(root + "/bad/plugin.json", "\"env\" must be a list of environment variable names")) {
            try PluginTool(folder: root + "/bad")
        }
    }

    /// A server that never answers `initialize` (quietly, with garbage, or by crashing) is stopped
    /// with the program it started before `connect` returns.
    @Test(arguments: [[], ["--garbage"], ["--crash"]]) func aSkippedServerIsGoneWithItsGroupBeforeMagiGoesOn(flags: [String]) async throws {
        let marker = Self.marker()
        let python = FileManager.default.isExecutableFile(atPath: MCPTestEnvironment.venvPython) ? MCPTestEnvironment.venvPython : "python3"
        let config = MCPServerConfig(name: "stuck", command: [python, MCPTestEnvironment.fixtures + "/never_initializes.py", marker] + flags,
                                     startupTimeout: .seconds(1))
        await #expect(throws: MCPError.self) { try await MCPClient.connect(config) }
        // Gone when connect returns, not a moment later as a server closed in the background would be.
        #expect(Self.survivors(marked: marker, within: 0.2).isEmpty)
    }

    @Test(.enabled(if: MCPTestEnvironment.hasSDK)) func anMCPServerSeesOnlyTheAllowListAndItsEnvTable() async throws {
        let marker = Self.marker()
        setenv("MAGI_TEST_SECRET_KEY", "secret", 1)
        let config = MCPServerConfig(name: "probe", command: [MCPTestEnvironment.venvPython, MCPTestEnvironment.fixtures + "/probe_server.py", marker],
                                     environment: ["GIVEN_TOKEN": "t-1"], startupTimeout: .seconds(60))
        let client = try await MCPClient.connect(config)
        #expect(ChildProcessGroups.shared.registered.contains(client.processIdentifier))
        let text = try await client.call("environment", arguments: .object([]))
        let environment = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
        #expect(environment["MAGI_TEST_SECRET_KEY"] == nil && environment["GIVEN_TOKEN"] == "t-1", "\(environment.keys.sorted())")
        #expect(environment["PATH"] == ProcessInfo.processInfo.environment["PATH"])
        #expect(!Self.processes(marked: marker).isEmpty)
        client.shutDown()
        #expect(Self.survivors(marked: marker).isEmpty)
    }

    @Test func killAllEndsEveryRegisteredGroup() throws {
        let marker = Self.marker()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "python3 -c 'import time; time.sleep(1000)' \(marker) & exec python3 -c 'import time; time.sleep(1000)' \(marker)"]
        try process.run()
        defer { kill(process.processIdentifier, SIGKILL) }
        // A registry of its own: the shared one holds the groups of the tests running beside this one.
        let groups = ChildProcessGroups()
        groups.register(process.processIdentifier)
        let deadline = Date().addingTimeInterval(5)
        // Until both shells have become the two sleepers (before their exec the shells carry the marker too).
        while Self.processes(marked: marker).count != 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(Self.processes(marked: marker).count == 2)
        groups.killAll()
        #expect(groups.registered.isEmpty)
        #expect(Self.survivors(marked: marker).isEmpty)
        process.waitUntilExit()
    }
}
