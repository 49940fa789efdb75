import Foundation
import MagiTools
import Testing

/// The `python` tool's sandbox: each attack is contained and reported, and the machine unharmed.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")))
final class PythonSandboxToolTests {
    let tool: PythonSandboxTool
    deinit { tool.removeWorkFolder() }

    init() {
        var limits = PythonSandboxTool.Limits()
        limits.cpuSeconds = 2
        limits.wallTime = .seconds(4)
        limits.memoryBytes = 256 << 20
        limits.outputBytes = 16 << 10
        tool = PythonSandboxTool(limits: limits)
    }

    func run(_ code: String) async -> Result<String, ToolError> {
        let arguments = String(decoding: try! JSONEncoder().encode(["code": code]), as: UTF8.self)
        return await ToolRunner(registry: ToolRegistry([tool])).run("python", arguments: arguments)
    }

    @Test func runsCodeAndReportsOutputAndExceptions() async throws {
        #expect(try await run("print(6 * 7)").get() == "stdout:\n42\n")
        let failure = try await run("print('before')\n1/0").get()
        #expect(failure.hasPrefix("stdout:\nbefore\n\nstderr:\nTraceback"))
        #expect(failure.contains("ZeroDivisionError: division by zero") && failure.hasSuffix("exit status 1"))
        #expect(try await run("x = 1").get() == "(no output)")
    }

    @Test func filesStayInTheWorkingFolderBetweenCalls() async throws {
        #expect(try await run("open('notes.txt', 'w').write('kept')").get() == "(no output)")
        #expect(try await run("print(open('notes.txt').read())").get() == "stdout:\nkept\n")
        #expect(FileManager.default.fileExists(atPath: tool.workFolder + "/notes.txt"))
    }

    @Test func homeIsHiddenAndTheSystemReadOnly() async throws {
        let home = try await run("import os\nprint(os.listdir('/root'), os.path.exists(os.path.expanduser('~root/.ssh')))").get()
        #expect(home == "stdout:\n[] False\n")
        let write = try await run("open('/usr/evil', 'w')").get()
        #expect(write.contains("OSError: [Errno 30] Read-only file system") || write.contains("PermissionError"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/evil"))
    }

    @Test func thereIsNoNetwork() async throws {
        let server = try LoopbackServer()
        let result = try await run("""
            import socket
            try:
                socket.create_connection(('127.0.0.1', \(server.port)), timeout=2); print('connected')
            except OSError as e:
                print('no network:', type(e).__name__)
            """).get()
        #expect(result.hasPrefix("stdout:\nno network:"))
    }

    @Test func runawayProgramsAreStopped() async throws {
        let start = ContinuousClock.now
        #expect(try await run("while True: pass").get().hasSuffix("stopped: the CPU time limit of 2 s was reached"))
        #expect(try await run("import time\ntime.sleep(60)").get() == "stopped: the wall-time limit of 4 s was reached")
        let memory = try await run("x = bytearray(1 << 30)").get()
        #expect(memory.contains("MemoryError"))
        let output = try await run("import sys\nfor _ in range(100_000): sys.stdout.write('x' * 1000)").get()
        #expect(output.hasSuffix("stopped: the output passed 16 KB; only its beginning is shown"))
        #expect(output.utf8.count < 20_000)
        let forks = try await run("""
            import os
            n = 0
            try:
                while True:
                    if os.fork() == 0:
                        import time; time.sleep(3); os._exit(0)
                    n += 1
            except OSError as e:
                print('forks stopped after', n)
            """).get()
        #expect(forks.hasPrefix("stdout:\nforks stopped after"))
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func withoutBubblewrapNothingRuns() async {
        let tool = PythonSandboxTool(bubblewrap: "/nonexistent/bwrap")
        let result = await ToolRunner(registry: ToolRegistry([tool])).run("python", arguments: #"{"code": "print(1)"}"#)
        #expect(result == .failure(.failed("bubblewrap (bwrap) is not installed, and code is never run unsandboxed; install the bubblewrap package")))
    }
}
