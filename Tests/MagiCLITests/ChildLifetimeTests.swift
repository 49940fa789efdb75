import Foundation
import Testing

/// Plugins and MCP servers see no secrets of magi's environment, and nothing magi started — nor
/// what those programs started — outlives it, however it ends: a normal exit, SIGTERM, SIGHUP,
/// Ctrl-C in a one-shot run or in the REPL, and a server that never initializes.
@Suite(.serialized) struct ChildLifetimeTests {
    static var enabled: Bool { ToolCommandLineTests.hasMCP }

    /// A plugin that leaves a grandchild marked `marker` behind and then sleeps itself (marked too).
    static func addHangingPlugin(to harness: ChildHarness, marker: String) throws {
        try harness.addPlugin("hang", script: """
            /usr/bin/python3 -c 'import time; time.sleep(1000)' \(marker) </dev/null >/dev/null 2>&1 &
            exec /usr/bin/python3 -c 'import time; time.sleep(1000)' \(marker)
            """)
    }

    @Test(.enabled(if: enabled)) func pluginsAndServersSeeOnlyTheAllowListAndWhatTheyAreGiven() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        try harness.addPlugin("envdump", script: """
            exec /usr/bin/python3 -c 'import json, os; print(json.dumps({"result": json.dumps(dict(os.environ))}))'
            """, manifestExtra: #", "env": ["BRAVE_API_KEY"]"#)
        let server = try ScriptedServer(script: [["tool_call": ["name": "envdump", "arguments": "{}"]],
                                                 ["tool_call": ["name": "environment", "arguments": "{}"]], ["content": "done"]], home: harness.home)
        defer { server.stop() }
        let marker = ChildHarness.marker()
        let mcp = try harness.mcpConfig(["probe": ChildHarness.probeServer(marker: marker, extra: #", "env": {"GIVEN_TOKEN": "t-1"}"#)])
        let run = try MagiRun(["--remote", server.url, "--mcp-config", mcp, "--tools", "envdump,environment", "--yes", "-p", "go", "--json"],
                              harness: harness, environment: ["OPENAI_API_KEY": "secret", "BRAVE_API_KEY": "brave", "AWS_SECRET_ACCESS_KEY": "aws"])
        #expect(run.wait() == 0, "\(run.stderr)")
        let results = Dictionary(RemoteCommandLineTests.events(run.stdout).filter { $0["type"] as? String == "tool_result" }
            .compactMap { event in (event["name"] as? String).map { ($0, event["result"] as? String ?? "") } }, uniquingKeysWith: { a, _ in a })
        let plugin = try #require(try JSONSerialization.jsonObject(with: Data((results["envdump"] ?? "").utf8)) as? [String: String], "\(run.stdout)")
        let mcpServer = try #require(try JSONSerialization.jsonObject(with: Data((results["environment"] ?? "").utf8)) as? [String: String], "\(run.stdout)")
        #expect(plugin["OPENAI_API_KEY"] == nil && plugin["AWS_SECRET_ACCESS_KEY"] == nil && plugin["BRAVE_API_KEY"] == "brave")
        #expect(plugin["HOME"] == harness.home && plugin["PATH"] != nil && plugin["GIVEN_TOKEN"] == nil)
        #expect(mcpServer["OPENAI_API_KEY"] == nil && mcpServer["AWS_SECRET_ACCESS_KEY"] == nil && mcpServer["BRAVE_API_KEY"] == nil)
        #expect(mcpServer["GIVEN_TOKEN"] == "t-1" && mcpServer["HOME"] == harness.home)
        #expect(ChildHarness.survivors(marked: marker).isEmpty)
    }

    /// How magi is made to end while a plugin call hangs and an MCP server runs. SIGKILL leaves magi
    /// no handler to run: the kernel's death signal ends the programs magi started (`setpriv
    /// --pdeathsig`), and magi's guardian the rest of their process groups.
    enum Ending: String, CaseIterable { case sigterm, sighup, sigint, sigkill }

    @Test(.enabled(if: enabled), arguments: Ending.allCases) func nothingOutlivesMagiEndedBy(_ ending: Ending) throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let (pluginMarker, serverMarker) = (ChildHarness.marker(), ChildHarness.marker())
        try Self.addHangingPlugin(to: harness, marker: pluginMarker)
        let server = try ScriptedServer(script: [["tool_call": ["name": "hang", "arguments": "{}"]]], home: harness.home)
        defer { server.stop() }
        let mcp = try harness.mcpConfig(["probe": ChildHarness.probeServer(marker: serverMarker)])
        let run = try MagiRun(["--remote", server.url, "--mcp-config", mcp, "--tools", "hang,environment", "-p", "go"], harness: harness)
        // The server and its grandchild, the plugin and its grandchild: all running.
        let started = ChildHarness.wait(seconds: 120) {
            ChildHarness.processes(marked: pluginMarker).count == 2 && ChildHarness.processes(marked: serverMarker).count == 2
        }
        #expect(started, "\(run.stderr)")
        let children = ChildHarness.processes(marked: pluginMarker) + ChildHarness.processes(marked: serverMarker)
        let groups = Set(children.compactMap(ChildHarness.processGroup))
        // Each program runs in a group of its own (not magi's), which its grandchild shares.
        #expect(groups.count == 2 && !groups.contains(run.process.processIdentifier), "\(groups)")
        let signal = switch ending { case .sigterm: SIGTERM; case .sighup: SIGHUP; case .sigint: SIGINT; case .sigkill: SIGKILL }
        kill(run.process.processIdentifier, signal)
        #expect(run.wait() == 128 + signal)
        #expect(ChildHarness.wait(seconds: 10) { groups.allSatisfy { ChildHarness.processes(inGroup: $0).isEmpty } }, "\(groups)")
        #expect(ChildHarness.survivors(marked: pluginMarker).isEmpty)
        #expect(ChildHarness.survivors(marked: serverMarker).isEmpty)
    }

    @Test(.enabled(if: enabled)) func nothingOutlivesANormalExitNorAPluginCall() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let (pluginMarker, serverMarker) = (ChildHarness.marker(), ChildHarness.marker())
        // A plugin that answers at once but leaves a grandchild behind.
        try harness.addPlugin("leaver", script: """
            /usr/bin/python3 -c 'import time; time.sleep(1000)' \(pluginMarker) </dev/null >/dev/null 2>&1 &
            echo '{"result": "left one behind"}'
            """)
        let server = try ScriptedServer(script: [["tool_call": ["name": "leaver", "arguments": "{}"]], ["content": "done"]], home: harness.home)
        defer { server.stop() }
        let mcp = try harness.mcpConfig(["probe": ChildHarness.probeServer(marker: serverMarker)])
        let run = try MagiRun(["--remote", server.url, "--mcp-config", mcp, "--tools", "leaver,environment", "-p", "go"], harness: harness)
        #expect(run.wait() == 0, "\(run.stderr)")
        #expect(run.stderr.contains("→ left one behind") && run.stdout == "done\n", "\(run.stderr)")
        #expect(ChildHarness.survivors(marked: pluginMarker).isEmpty)
        #expect(ChildHarness.survivors(marked: serverMarker).isEmpty)
    }

    /// A server that never answers `initialize` is stopped, with the program it started, while magi
    /// goes on (here: waits for a slow remote answer).
    @Test(.enabled(if: enabled)) func aServerThatNeverInitializesIsStoppedBeforeMagiGoesOn() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let marker = ChildHarness.marker()
        let server = try ScriptedServer(script: [["content": "done", "delay": 8]], home: harness.home)
        defer { server.stop() }
        let stuck = #"{"command": "/usr/bin/python3", "args": ["\#(ChildHarness.mcpFixtures)/never_initializes.py", "\#(marker)"], "startup_timeout_seconds": 1}"#
        let mcp = try harness.mcpConfig(["stuck": stuck])
        let run = try MagiRun(["--remote", server.url, "--mcp-config", mcp, "--tools", "all", "-p", "go"], harness: harness)
        #expect(ChildHarness.wait(seconds: 60) { run.stderr.contains("magi: MCP server skipped: ") }, "\(run.stderr)")
        // Gone already, not a moment later as a server closed in the background would be.
        #expect(ChildHarness.survivors(marked: marker, within: 0.2).isEmpty)
        #expect(run.process.isRunning)
        #expect(run.wait() == 0 && run.stdout == "done\n", "\(run.stderr)")
    }

    /// In the REPL, Ctrl-C stops a hanging plugin call (and what it started) while magi and its
    /// MCP server go on; Ctrl-D then ends magi and the server.
    @Test(.enabled(if: enabled && REPLScreenTests.hasTmux)) func ctrlCInTheREPLStopsTheCallAndCtrlDEndsEverything() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let (pluginMarker, serverMarker) = (ChildHarness.marker(), ChildHarness.marker())
        try Self.addHangingPlugin(to: harness, marker: pluginMarker)
        let server = try ScriptedServer(script: [["tool_call": ["name": "hang", "arguments": "{}"]], ["content": "stopped"]], home: harness.home)
        defer { server.stop() }
        let mcp = try harness.mcpConfig(["probe": ChildHarness.probeServer(marker: serverMarker)])
        let tmux = try Tmux(columns: 120, rows: 40)
        defer { tmux.close() }
        let environment = harness.environment.map { "\($0.key)=\($0.value)" }
        let magi = (["env"] + environment + [CommandLineTests.executable, "--remote", server.url, "--mcp-config", mcp, "--tools", "hang,environment"])
            .map(Tmux.shellQuoted).joined(separator: " ")
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "40", magi + "; printf 'AFTER-MAGI\\n'; read done"])
        _ = try tmux.waitForScreen { $0.last == ">>>" }
        tmux.type("go")
        #expect(ChildHarness.wait(seconds: 60) { ChildHarness.processes(marked: pluginMarker).count == 2 })
        #expect(ChildHarness.processes(marked: serverMarker).count == 2)
        try tmux.run(["send-keys", "-t", tmux.session, "C-c"])
        #expect(ChildHarness.survivors(marked: pluginMarker).isEmpty)
        _ = try tmux.waitForScreen { $0.last == ">>>" }
        #expect(ChildHarness.processes(marked: serverMarker).count == 2, "the MCP server goes on with magi")
        try tmux.run(["send-keys", "-t", tmux.session, "C-d"])
        _ = try tmux.waitForScreen { $0.contains("AFTER-MAGI") }
        #expect(ChildHarness.survivors(marked: serverMarker).isEmpty)
    }
}
