import Foundation

/// What the terminal-safety and child-lifetime tests share: an OpenAI-compatible server on loopback
/// that answers from a script, plugins and MCP configurations made for the test, `magi` run with a
/// deadline and its output in files (a program left behind cannot hold a pipe open), and a scan of
/// `/proc` for processes by a marker argument.
struct ChildHarness {
    let home: String

    init() throws {
        home = NSTemporaryDirectory() + "magi-child-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home + "/config/magi/plugins", withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: home) }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let mcpFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../MagiToolsTests/Fixtures/mcp").standardized.path
    static var venvPython: String { ToolCommandLineTests.venvPython }

    static func marker() -> String { "magi-test-marker-\(UUID().uuidString.prefix(8))" }

    /// The environment magi runs with: a home of the test's, plugins found in its config folder.
    var environment: [String: String] {
        ["HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": home + "/config", "MAGI_HOME": CommandLineTests.magiHome]
    }

    /// A plugin `name` in magi's plugin folder, running `script` (sh) with `manifestExtra` manifest members.
    func addPlugin(_ name: String, script: String, manifestExtra: String = "") throws {
        let folder = home + "/config/magi/plugins/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try #"{"name": "\#(name)", "description": "test plugin", "parameters": {"type": "object", "properties": {}}, "command": "run", "timeout_seconds": 600\#(manifestExtra)}"#
            .write(toFile: folder + "/plugin.json", atomically: true, encoding: .utf8)
        try ("#!/bin/sh\n" + script).write(toFile: folder + "/run", atomically: true, encoding: .utf8)
        chmod(folder + "/run", 0o755)
    }

    /// An MCP configuration file with `servers` (name → the server's JSON object); its path.
    func mcpConfig(_ servers: [String: String]) throws -> String {
        let path = home + "/mcp.json"
        let members = servers.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
        try "{\"mcpServers\": {\(members)}}".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The probe MCP server (tools `environment`, `escapes`), leaving a grandchild marked `marker`.
    static func probeServer(marker: String, extra: String = "") -> String {
        #"{"command": "\#(venvPython)", "args": ["\#(mcpFixtures)/probe_server.py", "\#(marker)"], "startup_timeout_seconds": 120\#(extra)}"#
    }

    // MARK: Processes

    /// The pids of running processes with `marker` among their arguments (zombies have none).
    static func processes(marked marker: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).split(separator: "\0").contains { $0 == marker }
        }
    }

    /// The process group of `pid` (field 5 of `/proc/PID/stat`), or nil when it has ended.
    static func processGroup(_ pid: Int32) -> Int32? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 2 && fields[0] != "Z" ? Int32(fields[2]) : nil
    }

    /// The running processes (not zombies) of process group `pgid`.
    static func processes(inGroup pgid: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { processGroup($0) == pgid }
    }

    /// The processes marked `marker` still running after up to `seconds` (killed ones take a
    /// moment to be reaped); they are killed, so a failing test leaves nothing behind either.
    static func survivors(marked marker: String, within seconds: Double = 2) -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && !processes(marked: marker).isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        let left = processes(marked: marker)
        left.forEach { kill($0, SIGKILL) }
        return left
    }

    /// Polls `condition` every 50 ms for up to `seconds`; whether it came true.
    static func wait(seconds: Double, for condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return true
    }
}

/// `magi` started in the background with its output in files, killed at a deadline.
final class MagiRun {
    let process = Process()
    let stdoutPath: String, stderrPath: String

    init(_ arguments: [String], harness: ChildHarness, environment extra: [String: String] = [:], deadline seconds: Double = 180) throws {
        let name = UUID().uuidString.prefix(8)
        stdoutPath = harness.home + "/stdout-\(name)"
        stderrPath = harness.home + "/stderr-\(name)"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: CommandLineTests.executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAGI_") }
            .merging(harness.environment) { $1 }.merging(extra) { $1 }
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [process] in
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var stdoutBytes: Data { FileManager.default.contents(atPath: stdoutPath) ?? Data() }

    /// Waits for magi to end (the deadline kills it); its exit status, or 128 + the signal.
    @discardableResult
    func wait() -> Int32 {
        // Watched without reaping: Foundation would wait for programs magi left behind too.
        var info = siginfo_t()
        var result: Int32
        repeat { result = waitid(P_PID, id_t(process.processIdentifier), &info, WEXITED | WNOWAIT) } while result == -1 && errno == EINTR
        if result != 0 {  // Foundation reaped it first
            process.waitUntilExit()
            return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        }
        let status = info._sifields._sigchld.si_status
        return Int(info.si_code) == Int(CLD_EXITED) ? status : 128 + status
    }
}

/// A Python fixture server that listens on a free loopback port and writes it to the file named by
/// its first argument; killed at ``stop()`` or, at the latest, after `deadline` seconds.
final class PortFileServer {
    let process = Process()
    let port: Int

    init(python: String, script: String, arguments: [String], environment: [String: String], home: String,
         startWithin seconds: Double, deadline: Double?) throws {
        let portFile = home + "/port-\(UUID().uuidString.prefix(8))"
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, portFile] + arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let deadline {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + deadline) { kill(pid, SIGKILL) }
        }
        var port = 0
        let server = process
        _ = ChildHarness.wait(seconds: seconds) {
            port = Int((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "") ?? 0
            return port > 0 || !server.isRunning
        }
        self.port = port
        guard port > 0 else { stop(); throw TmuxError(message: "\((script as NSString).lastPathComponent) did not start") }
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// `Fixtures/openai/scripted_server.py` on loopback: chat replies from a script, `GET /page` a page.
final class ScriptedServer {
    private let server: PortFileServer
    var port: Int { server.port }

    /// - Parameter script: the replies in turn (`content`, `reasoning`, `tool_call` {`name`, `arguments`}, `delay`).
    init(script: [[String: Any]], page: String = "", home: String) throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: script), as: UTF8.self)
        server = try PortFileServer(python: "/usr/bin/python3", script: ChildHarness.fixtures + "/openai/scripted_server.py",
                                    arguments: [json], environment: ["PAGE_HTML": page, "PATH": "/usr/bin:/bin"], home: home,
                                    startWithin: 30, deadline: nil)
    }

    var url: String { "http://127.0.0.1:\(port)/v1" }

    func stop() { server.stop() }
}
