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
