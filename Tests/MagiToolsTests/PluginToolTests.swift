import Foundation
import MagiTools
import Testing

/// Plugins: discovery, the shipped calculator, and hostile plugins that must never harm magi.
@Suite struct PluginToolTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../plugins").standardized.path

    /// A plugin folder in a temporary root: its manifest and a shell script as its executable.
    static func makePlugin(in root: String, folder: String, manifest: String, script: String?) throws {
        let path = root + "/" + folder
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try manifest.write(toFile: path + "/plugin.json", atomically: true, encoding: .utf8)
        if let script {
            try ("#!/bin/sh\n" + script).write(toFile: path + "/run", atomically: true, encoding: .utf8)
            chmod(path + "/run", 0o755)
        }
    }

    static func manifest(_ name: String, timeout: Double = 2, network: Bool = false) -> String {
        #"{"name": "\#(name)", "description": "test", "parameters": {"type": "object"}, "command": "run", "timeout_seconds": \#(timeout), "network": \#(network)}"#
    }

    @Test func theShippedCalculatorIsExact() async throws {
        let (tools, problems) = PluginLoader.discover(in: [Self.shipped])
        #expect(problems.isEmpty)
        let runner = ToolRunner(registry: ToolRegistry(tools))
        #expect(runner.registry["calculator"]?.access == [])
        #expect(await runner.run("calculator", arguments: #"{"expression": "0.1 + 0.2"}"#) == .success("3/10 ≈ 0.3"))
        #expect(await runner.run("calculator", arguments: #"{"expression": "2**64 - 1"}"#) == .success("18446744073709551615"))
        #expect(await runner.run("calculator", arguments: #"{"expression": "open('x')"}"#) == .failure(.failed("unsupported: open('x')")))
        #expect(await runner.run("calculator", arguments: #"{"expr": "1"}"#) == .failure(.invalidArguments("arguments.expression is required")))
    }

    @Test func brokenPluginsAreReportedAndSkipped() throws {
        let root = NSTemporaryDirectory() + "magi-plugins-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.makePlugin(in: root, folder: "a-good", manifest: Self.manifest("good", network: true), script: "cat")
        try Self.makePlugin(in: root, folder: "b-not-json", manifest: "{name: ", script: "cat")
        try Self.makePlugin(in: root, folder: "c-no-exe", manifest: Self.manifest("noexe"), script: nil)
        try Self.makePlugin(in: root, folder: "d-bad-name", manifest: Self.manifest("bad name"), script: "cat")
        try Self.makePlugin(in: root, folder: "e-duplicate", manifest: Self.manifest("good"), script: "cat")
        try FileManager.default.createDirectory(atPath: root + "/f-not-a-plugin", withIntermediateDirectories: true)
        let (tools, problems) = PluginLoader.discover(in: [root, root + "/missing"])
        #expect(tools.map(\.name) == ["good"])
        #expect(tools.first?.access == .network)
        #expect(problems.map(\.description) == [
            "\(root)/b-not-json/plugin.json: not valid JSON",
            "\(root)/c-no-exe/run: no executable there",
            "\(root)/d-bad-name/plugin.json: \"name\" must be letters, digits, _ and -",
            "\(root)/e-duplicate: a tool named 'good' is already loaded",
        ])
    }

    @Test func hostilePluginsGetAClearError() async throws {
        let root = NSTemporaryDirectory() + "magi-plugins-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let scripts = [
            "echo": #"read -r line; echo "{\"result\": $line}""#,
            "hang": "sleep 60",
            "huge": "head -c 5000000 /dev/zero | tr '\\0' x",
            "crash": "echo dying >&2; kill -SEGV $$",
            "fails": "echo 'bad input' >&2; exit 3",
            "garbage": "echo 'not json at all'",
            "refuses": #"echo '{"error": "no such unit"}'"#,
        ]
        for (name, script) in scripts {
            try Self.makePlugin(in: root, folder: name, manifest: Self.manifest(name, timeout: 1), script: script)
        }
        let runner = ToolRunner(registry: ToolRegistry(PluginLoader.discover(in: [root]).tools))
        #expect(await runner.run("echo", arguments: #"{"x": 1}"#) == .success(#"{"x": 1}"#))
        let start = ContinuousClock.now
        #expect(await runner.run("hang", arguments: "{}") == .failure(.failed("plugin 'hang' did not answer within 1 s and was stopped")))
        #expect(ContinuousClock.now - start < .seconds(30), "stopped at 1 s, not after the plugin's 60 s")
        #expect(await runner.run("huge", arguments: "{}") == .failure(.failed("plugin 'huge' wrote more than 1 MB and was stopped")))
        let crash = await runner.run("crash", arguments: "{}")
        #expect(crash == .failure(.failed("plugin 'crash' exited with status 139: dying")) || crash == .failure(.failed("plugin 'crash' crashed (signal 11): dying")))
        #expect(await runner.run("fails", arguments: "{}") == .failure(.failed("plugin 'fails' exited with status 3: bad input")))
        #expect(await runner.run("garbage", arguments: "{}") == .failure(.failed("plugin 'garbage' wrote something that is not JSON: not json at all")))
        #expect(await runner.run("refuses", arguments: "{}") == .failure(.failed("no such unit")))
    }
}
