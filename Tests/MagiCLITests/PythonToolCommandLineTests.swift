import Foundation
import Testing

/// The `python` interpreter through the real binary: `magi tool python` (no model) and the REPL's
/// script mode with the default model, where state must outlive calls and turns.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")))
struct PythonToolCommandLineTests {
    let cli = CommandLineTests()

    @Test func magiToolPythonKeepsStateFromLineToLine() throws {
        let (home, environment) = try ScriptModeTests.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let calls = [#"{"code": "import os\nx = 6 * 7"}"#, #"{"code": "x"}"#, #"{"code": "x = x + 1\nx"}"#, #"{"cod": 1}"#]
        let run = try cli.magi(["tool", "python"], stdin: calls.joined(separator: "\n") + "\n", environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == """
            {"result":"(no output)"}
            {"result":"result:\\n42"}
            {"result":"result:\\n43"}
            {"error":"invalid arguments: arguments.code is required"}

            """, "\(run.stdout)")
        let once = try cli.magi(["tool", "python", #"{"code": "print('once')"}"#], environment: environment)
        #expect(once.stdout == #"{"result":"stdout:\nonce\n"}"# + "\n")
        let unknown = try cli.magi(["tool", "nonesuch", "{}"], environment: environment)
        #expect(unknown.status != 0 && unknown.stderr.contains("no tool named 'nonesuch'"))
    }

    /// A cell that hits the memory or the disk limit ends the interpreter with the reason; the next
    /// cell's result says that state was lost, and an earlier variable is gone (and the files too).
    @Test func memoryAndDiskLimitsRestartTheInterpreter() throws {
        let (home, environment) = try ScriptModeTests.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let cells = [
            "x = 42", "big = bytearray(1 << 30)", "x",
            "x = 42\nopen('kept.txt', 'w').write('kept')",
            "import os\nwith open('fill', 'wb') as f:\n    while True: f.write(b'x' * (1 << 20))", "x", "import os\nos.listdir('.')",
        ]
        let stdin = cells.map { String(decoding: try! JSONSerialization.data(withJSONObject: ["code": $0]), as: UTF8.self) }.joined(separator: "\n") + "\n"
        let run = try cli.magi(["tool", "python"], stdin: stdin, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let results = run.stdout.split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])?["result"] ?? String(line)
        }
        try #require(results.count == cells.count, "\(run.stdout)")
        let stopped = "The interpreter was ended, so the variables, imports and files of earlier calls are lost; the next call starts a new one."
        let lost = "the variables, imports and files of earlier calls are gone."
        let memory = "the memory limit of 256 MB per process was reached"
        #expect(results[1].contains("MemoryError") && results[1].hasSuffix("stopped: \(memory). \(stopped)"), "\(results[1])")
        #expect(results[2].hasPrefix("note: this is a new Python interpreter, because the previous one ended (\(memory)): \(lost)"), "\(results[2])")
        #expect(results[2].contains("NameError: name 'x' is not defined"), "\(results[2])")
        let disk = "the working folder's limit of 256 MB was reached"
        #expect(results[4].contains("OSError: [Errno 28] No space left on device") && results[4].hasSuffix("stopped: \(disk). \(stopped)"), "\(results[4])")
        #expect(results[5].hasPrefix("note: this is a new Python interpreter, because the previous one ended (\(disk)): \(lost)"), "\(results[5])")
        #expect(results[5].contains("NameError: name 'x' is not defined"), "\(results[5])")
        #expect(results[6] == "result:\n[]", "\(results[6])")
    }

    /// The image folder of a magi killed with -9 is removed by the next start of magi, whatever it
    /// runs (here `magi tools`); the folder of a magi still running stays.
    @Test func foldersOfAKilledMagiGoAtTheNextStart() throws {
        let home = NSTemporaryDirectory() + "magi-folders-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let root = home + "/.cache/magi/python"
        let folders = { Set((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []) }
        var killed = try MagiTool(home: home, user: nil)
        defer { if killed.process.isRunning { killed.kill() } }
        #expect(try killed.call("open('a.png', 'wb').write(b'png')").contains("saved on the host as \(root)/"))
        let killedFolders = folders()
        #expect(killedFolders.count == 2, "\(killedFolders)")  // the folder and its lock
        var live = try MagiTool(home: home, user: nil)
        defer { live.finish() }
        #expect(try live.call("open('b.png', 'wb').write(b'png')").contains("saved on the host as \(root)/"))
        let liveFolders = folders().subtracting(killedFolders)
        #expect(liveFolders.count == 2, "\(liveFolders)")
        killed.kill()
        #expect(folders() == killedFolders.union(liveFolders))
        let version = try cli.magi(["tools"], environment: ["HOME": home, "MAGI_HOME": ""], currentDirectory: "/")
        #expect(version.status == 0, "\(version.stderr)")
        #expect(folders() == liveFolders)
        #expect(try live.call("1") == "result:\n1")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func stateOutlivesTurnsUntilRestartOrClear() throws {
        let (home, environment) = try ScriptModeTests.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = try ScriptModeTests.write("""
            /tool python {"code": "x = 6 * 7"}
            Say hello.
            /tool python {"code": "x"}
            /tool restart python
            /tool python {"code": "x"}
            /tool python {"code": "x = 1"}
            /clear
            /tool python {"code": "x"}
            /tool restart calculator
            """, in: home)
        let run = try cli.magi(["--temp", "0", "-n", "8", "--tools", "python", "--yes", "--keep-going", "--script", script], environment: environment)
        let results = run.stdout.components(separatedBy: "\n")
        #expect(run.stdout.contains("result:\n42\n"), "\(run.stdout)")
        #expect(results.contains("python: the interpreter was restarted; its variables, imports and files are gone"))
        let afterRestart = try #require(run.stdout.range(of: "note: this is a new Python interpreter, because the previous one ended (it was restarted on request)"))
        #expect(run.stdout[afterRestart.upperBound...].contains("NameError: name 'x' is not defined"))
        // After /clear the old conversation's interpreter is gone: x is undefined again.
        let cleared = try #require(run.stdout.range(of: "conversation cleared"))
        #expect(run.stdout[cleared.upperBound...].contains("NameError: name 'x' is not defined"))
        #expect(run.stderr.contains("no tool named calculator is offered"), "\(run.stderr)")
    }
}
