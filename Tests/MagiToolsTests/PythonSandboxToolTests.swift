import Foundation
import MagiTools
import Testing

/// The `python` tool as a stateful interpreter: notebook cells whose state persists, limits that
/// end the interpreter and say so, restarts, images, and the view from inside the sandbox.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")))
final class PythonSandboxToolTests {
    let tool: PythonSandboxTool
    let hostFolder = NSTemporaryDirectory() + "magi-python-test-\(UUID().uuidString.prefix(8))"
    let shown = ShownImages()
    deinit {
        tool.end()
        try? FileManager.default.removeItem(atPath: hostFolder)
    }

    init() {
        var limits = PythonSandbox.Limits()
        limits.cpuSeconds = 2
        limits.wallTime = .seconds(5)
        limits.memoryBytes = 1 << 30
        limits.processes = 8
        limits.diskBytes = 32 << 20
        limits.outputBytes = 16 << 10
        tool = PythonSandboxTool(limits: limits, hostFolder: hostFolder, showImage: { [shown] in shown.add($0) })
    }

    func run(_ code: String) async -> Result<String, ToolError> {
        let arguments = String(decoding: try! JSONEncoder().encode(["code": code]), as: UTF8.self)
        return await ToolRunner(registry: ToolRegistry([tool])).run("python", arguments: arguments)
    }

    static let lost = "the variables, imports and files of earlier calls are gone"

    @Test func cellsReturnOutputExceptionsAndTheLastValue() async throws {
        #expect(try await run("print(6 * 7)").get() == "stdout:\n42\n")
        #expect(try await run("x = 6 * 7\nx").get() == "result:\n42")
        #expect(try await run("'a' + 'b'").get() == "result:\n'ab'")
        #expect(try await run("y = 1").get() == "(no output)")
        // What the code prints is output, whatever it looks like.
        #expect(try await run("print('\\x00\\x00\\x00\\x02{}')").get() == "stdout:\n\0\0\0\u{02}{}\n")
        #expect(try await run("None").get() == "(no output)")
        let failure = try await run("import sys\nprint('before')\nprint('warn', file=sys.stderr)\n1/0").get()
        #expect(failure.hasPrefix("stdout:\nbefore\n\nstderr:\nwarn\n\nerror:\nTraceback (most recent call last):\n  File \"<cell>\", line 4"),
                "\(failure)")
        #expect(failure.hasSuffix("ZeroDivisionError: division by zero\n") && !failure.contains("exec("))
        #expect(try await run("def f(:").get().hasPrefix("error:\n  File \"<cell>\", line 1"))
        // exit() ends the cell, not the interpreter.
        #expect(try await run("exit(3)").get().contains("SystemExit: 3"))
        #expect(try await run("x + 1").get() == "result:\n43")
    }

    @Test func stateStaysForTwentyCallsInOneProcess() async throws {
        #expect(try await run("import math\nn = 0\nopen('notes.txt', 'w').write('kept')").get() == "result:\n4")
        let pid = try #require(tool.sandboxProcess)
        for i in 1...20 {
            #expect(try await run("n += 1\nn").get() == "result:\n\(i)")
            #expect(tool.sandboxProcess == pid)
        }
        #expect(kill(pid, 0) == 0)
        #expect(try await run("math.sqrt(n), open('notes.txt').read()").get() == "result:\n(4.47213595499958, 'kept')")
        // The working folder is inside the sandbox only.
        #expect(!FileManager.default.fileExists(atPath: hostFolder + "/notes.txt"))
    }

    @Test func restartOnRequestLosesStateAndSaysSo() async throws {
        _ = try await run("x = 1\nopen('f', 'w').write('1')").get()
        let pid = try #require(tool.sandboxProcess)
        #expect(tool.restart() == "python: the interpreter was restarted; its variables, imports and files are gone")
        #expect(kill(pid, 0) != 0)
        let next = try await run("import os\nprint(os.path.exists('f'))\nx").get()
        #expect(next.hasPrefix("note: this is a new Python interpreter, because the previous one ended (it was restarted on request): \(Self.lost)."))
        #expect(next.contains("stdout:\nFalse\n") && next.contains("NameError: name 'x' is not defined"))
        #expect(tool.restart().contains("restarted"))
        tool.end()
        #expect(tool.sandboxProcess == nil)
        // After the conversation ended, a new one starts with nothing to say about the old.
        #expect(try await run("1 + 1").get() == "result:\n2")
    }

    @Test func limitsEndTheInterpreterAndTheNextCallSaysStateWasLost() async throws {
        let cases: [(code: String, reason: String)] = [
            ("import time\ntime.sleep(60)", "the wall-time limit of 5 s was reached"),
            ("import sys\nwhile True: sys.stdout.write('x' * 1000)", "the output passed 16 KB"),
            ("import os\nos.kill(os.getpid(), 11)", "the interpreter was killed by signal 11"),
            // Code that writes on the driver's own reply descriptor only breaks its own interpreter.
            ("import os, struct, time\nos.write(4, struct.pack('>I', 5) + b'xxxxx'); time.sleep(1)", "the interpreter sent a reply magi could not read"),
            ("import os, struct, time\nos.write(4, struct.pack('>I', 1 << 30)); time.sleep(1)", "the interpreter sent a reply magi could not read"),
        ]
        for (code, reason) in cases {
            _ = try await run("state = 'here'").get()
            let pid = try #require(tool.sandboxProcess)
            let stopped = try await run(code).get()
            #expect(stopped.hasSuffix("stopped: \(reason). The interpreter was ended, so the variables, imports and files of earlier calls are lost; the next call starts a new one."),
                    "\(stopped.suffix(300))")
            #expect(stopped.utf8.count < 20_000)
            #expect(kill(pid, 0) != 0 && tool.sandboxProcess == nil)
            let next = try await run("'state' in globals()").get()
            #expect(next == "note: this is a new Python interpreter, because the previous one ended (\(reason)): \(Self.lost).\nresult:\nFalse")
        }
    }

    @Test func theCPULimitEndsTheInterpreter() async throws {
        // A wall time long enough for one CPU second on a busy machine.
        var limits = tool.sandbox.limits
        limits.cpuSeconds = 1
        limits.wallTime = .seconds(120)
        let tool = PythonSandboxTool(limits: limits, hostFolder: hostFolder)
        defer { tool.end() }
        let runner = ToolRunner(registry: ToolRegistry([tool]))
        #expect(try await runner.run("python", arguments: #"{"code": "x = 1"}"#).get() == "(no output)")
        let stopped = try await runner.run("python", arguments: #"{"code": "while True: pass"}"#).get()
        #expect(stopped == "stopped: the CPU time limit of 1 s was reached. The interpreter was ended, so the variables, imports and files of earlier calls are lost; the next call starts a new one.")
        let next = try await runner.run("python", arguments: #"{"code": "'x' in globals()"}"#).get()
        #expect(next == "note: this is a new Python interpreter, because the previous one ended (the CPU time limit of 1 s was reached): \(Self.lost).\nresult:\nFalse")
    }

    @Test func memoryDiskAndProcessLimitsRestartTheInterpreter() async throws {
        let stopped = "The interpreter was ended, so the variables, imports and files of earlier calls are lost; the next call starts a new one."
        func note(_ reason: String) -> String {
            "note: this is a new Python interpreter, because the previous one ended (\(reason)): \(Self.lost)."
        }
        _ = try await run("kept = 'yes'").get()
        let memory = try await run("x = bytearray(1 << 30)").get()
        let memoryReason = "the memory limit of 128 MB per process was reached"
        #expect(memory.contains("MemoryError") && memory.hasSuffix("stopped: \(memoryReason). \(stopped)"), "\(memory)")
        #expect(try await run("'kept' in globals()").get() == note(memoryReason) + "\nresult:\nFalse")
        // A full working folder restarts the interpreter even when the code caught the error, and
        // the new one starts with an empty folder.
        _ = try await run("kept = 'yes'").get()
        let disk = try await run("""
            chunk, n = b'x' * (1 << 20), 0
            try:
                with open('big', 'wb') as f:
                    while True: f.write(chunk); f.flush(); n += 1
            except OSError as e:
                print('disk full after', n, 'MB:', e.strerror)
            """).get()
        let diskReason = "the working folder's limit of 32 MB was reached"
        #expect(disk.hasPrefix("stdout:\ndisk full after 3") || disk.hasPrefix("stdout:\ndisk full after 2"), "\(disk)")
        #expect(disk.hasSuffix("stopped: \(diskReason). \(stopped)"), "\(disk)")
        #expect(try await run("import os\n'kept' in globals(), os.listdir('.')").get() == note(diskReason) + "\nresult:\n(False, [])")
        // Processes that fill the sandbox's count and stay.
        let forks = try await run("""
            import os, time
            n = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(30); os._exit(0)
                    n += 1
            except OSError as e:
                print('forks refused after', n)
            """).get()
        let processReason = "the limit of 8 processes and threads was reached"
        #expect(forks == "stdout:\nforks refused after 6\n\nstopped: \(processReason). \(stopped)", "\(forks)")
        let refused = try await run("""
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            print(libc.shmget(0, 1 << 20, 0o1600), ctypes.get_errno() == 1)
            try: os.memfd_create('m'); print('memfd made')
            except PermissionError: print('memfd refused')
            print(sum(name.isdigit() for name in os.listdir('/proc')))
            """).get()
        // The new interpreter has its init and itself: the forked children are gone.
        #expect(refused == note(processReason) + "\nstdout:\n-1 True\nmemfd refused\n2\n", "\(refused)")
        // Forks refused by a cell whose children end leave a usable interpreter: no restart.
        _ = try await run("kept = 'yes'").get()
        let brief = try await run("""
            import os
            r, w = os.pipe()
            kids = []
            try:
                while True:
                    pid = os.fork()
                    if pid == 0: os.close(w); os.read(r, 1); os._exit(0)
                    kids.append(pid)
            except OSError: pass
            os.close(w)
            for k in kids: os.waitpid(k, 0)
            len(kids)
            """).get()
        #expect(brief == "result:\n6", "\(brief)")
        #expect(try await run("kept").get() == "result:\n'yes'")
    }

    @Test func theSandboxShowsOnlyWhatPythonNeeds() async throws {
        let view = try await run("""
            import os, socket
            print(sorted(os.listdir('/')), sorted(os.listdir('/etc')), os.getcwd(), os.environ.get('HOME'))
            def is_open(fd):
                try: os.fstat(fd); return True
                except OSError: return False
            print([fd for fd in range(256) if is_open(fd)])
            for path in ['/x', '/usr/x', '/etc/x', '/dev/x']:
                try: open(path, 'w'); print('wrote', path)
                except OSError as e: print(path, e.strerror)
            print(sorted(k for k in os.environ))
            # Only the sandbox's own loopback exists: nothing listens there.
            try: socket.create_connection(('127.0.0.1', 22), timeout=2)
            except OSError as e: print('no network:', e.strerror)
            """).get()
        #expect(view == """
            stdout:
            ['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr'] ['ld.so.cache', 'localtime'] /tmp /tmp
            [0, 1, 2, 3, 4]
            /x Read-only file system
            /usr/x Read-only file system
            /etc/x Read-only file system
            /dev/x Read-only file system
            ['HOME', 'LANG', 'MPLBACKEND', 'OPENBLAS_NUM_THREADS', 'PATH', 'PWD', 'TMPDIR']
            no network: Connection refused

            """)
        let user = try await run("import os\nos.getuid()").get()
        #expect(user == "result:\n" + (getuid() == 0 ? "65534" : String(getuid())))
    }

    @Test func imagesAreSavedOnTheHostNamedAndShown() async throws {
        let result = try await run("""
            import struct, zlib, os
            def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
            rows = b''.join(b'\\x00' + bytes([x * 60, 0, 200]) * 4 for x in range(4))
            png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4, 4, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
            os.makedirs('plots', exist_ok=True)
            open('plots/square.png', 'wb').write(png)
            len(png)
            """).get()
        let saved = try #require(shown.paths.first)
        #expect(shown.paths.count == 1 && saved.hasPrefix(hostFolder + "/") && saved.hasSuffix("-plots_square.png"))
        #expect(result.hasSuffix("image: plots/square.png (saved on the host as \(saved), shown to the user)"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: saved))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && result.contains("result:\n\(bytes.count)"))
        // An unchanged image is not shown again.
        #expect(try await run("1").get() == "result:\n1")
        #expect(shown.paths.count == 1)
        // The host folder goes when the conversation ends.
        tool.end()
        #expect(!FileManager.default.fileExists(atPath: saved))
    }

    @Test func foldersOfAKilledMagiAreRemovedAtTheNextStart() async throws {
        let abandoned = hostFolder + "/999999-dead"
        try FileManager.default.createDirectory(atPath: abandoned, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: abandoned + ".lock", contents: nil)
        _ = FileManager.default.createFile(atPath: abandoned + "/1-plot.png", contents: Data([1, 2, 3]))
        #expect(try await run("1").get() == "result:\n1")
        #expect(!FileManager.default.fileExists(atPath: abandoned) && !FileManager.default.fileExists(atPath: abandoned + ".lock"))
    }

    @Test func withoutBubblewrapNothingRuns() async {
        let tool = PythonSandboxTool(bubblewrap: "/nonexistent/bwrap")
        let result = await ToolRunner(registry: ToolRegistry([tool])).run("python", arguments: #"{"code": "print(1)"}"#)
        #expect(result == .failure(.failed("bubblewrap (bwrap) is not installed, and code is never run unsandboxed; install the bubblewrap package")))
    }

    @Test func anInterpreterOutsideTheSandboxIsReportedNotRun() async {
        let tool = PythonSandboxTool(python: "/opt/nowhere/python3", hostFolder: hostFolder)
        defer { tool.end() }
        let result = await ToolRunner(registry: ToolRegistry([tool])).run("python", arguments: #"{"code": "print(1)"}"#)
        guard case .failure(.failed(let message)) = result else { Issue.record("\(result)"); return }
        #expect(message.hasPrefix("the sandbox could not start (bwrap: execvp /opt/nowhere/python3"))
    }
}

/// The paths `showImage` was called with.
final class ShownImages: @unchecked Sendable {
    private let lock = NSLock()
    private var shown: [String] = []
    var paths: [String] { lock.withLock { shown } }
    func add(_ path: String) { lock.withLock { shown.append(path) } }
}
