import Foundation

/// A program run for a tool: input on stdin, stdout and stderr captured up to a cap, killed when
/// it runs past its time, prints past its cap, or the call is cancelled.
///
/// It runs as the leader of a process group of its own, registered in ``ChildProcessGroups``
/// while it runs; when it ends, whatever it left running in its group is killed. It is started by
/// ``ChildSpawner``, so it dies with magi even when magi is killed with SIGKILL.
public struct ChildProcess: Sendable {
    public var executable: String
    public var arguments: [String]
    /// The program's whole environment; nil: ``ChildEnvironment/make(passing:adding:from:)``'s
    /// allow-list of magi's.
    public var environment: [String: String]?
    public var currentDirectory: String?
    /// Wall-clock limit.
    public var timeout: Duration
    /// Bytes kept of stdout and of stderr each; past it the program is killed.
    public var outputLimit: Int

    public init(executable: String, arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
                timeout: Duration, outputLimit: Int) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.timeout = timeout
        self.outputLimit = outputLimit
    }

    /// Writing to a program that exited must fail with EPIPE, not kill magi with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// How the run ended.
    public struct Outcome: Sendable {
        public enum Ending: Sendable, Equatable {
            /// Exited with this status.
            case exited(Int32)
            /// Killed by this signal (not by magi).
            case signalled(Int32)
            /// Killed by magi after ``ChildProcess/timeout``.
            case timedOut
            /// Killed by magi after printing more than ``ChildProcess/outputLimit``.
            case outputLimit
            /// Killed because the tool call was cancelled.
            case cancelled
        }
        public var ending: Ending
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs the program with `input` on stdin.
    ///
    /// - Throws: ``ToolError/failed(_:)`` when it cannot be started.
    public func run(input: [UInt8]) async throws(ToolError) -> Outcome {
        _ = Self.ignoreBrokenPipes
        // Checked here: started through `setpriv`, a missing program would be a failed run instead.
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw .failed("cannot start \(executable): no executable file there")
        }
        let process = Process()
        ChildSpawner.prepare(process, executable: executable, arguments: arguments)
        process.environment = environment ?? ChildEnvironment.make()
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let state = RunState()
        let reaped = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in reaped.signal() }
        // Foundation reports the exit only once every program holding what the child inherited has
        // exited too (a background process it left), so the exit is watched, without reaping.
        let watch: @Sendable (pid_t) -> Void = { pid in
            var info = siginfo_t()
            var result: Int32
            repeat { result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) } while result == -1 && errno == EINTR
            if result == 0 {
                let code = info._sifields._sigchld.si_status
                state.exit = Int(info.si_code) == Int(CLD_EXITED) ? .exited(code) : .signalled(code)
            } else {  // Foundation reaped it first.
                reaped.wait()
                state.exit = process.terminationReason == .uncaughtSignal ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
            }
            state.exited.signal()
        }
        do { try await ChildSpawner.run(process, watch: watch) } catch {
            throw .failed("cannot start \(executable): \(error.localizedDescription)")
        }
        let pid = process.processIdentifier
        let limit = outputLimit
        // Foundation starts the program in a process group of its own: killing the group ends the
        // programs it started too, which would otherwise hold the output pipes open.
        let killer: @Sendable (Outcome.Ending) -> Void = { reason in
            if state.setEnding(reason) {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
        }
        let readers = [stdout, stderr].map { pipe in
            let reader = CappedReader(handle: pipe.fileHandleForReading, limit: limit) { killer(.outputLimit) }
            reader.start()
            return reader
        }
        // Input is written on its own thread so a program that does not read cannot block magi.
        let writer = Thread {
            let handle = stdin.fileHandleForWriting
            try? handle.write(contentsOf: Data(input))
            try? handle.close()
        }
        writer.start()
        let deadline = DispatchTime.now() + .nanoseconds(Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000))
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread {
                    if state.exited.wait(timeout: deadline) == .timedOut {
                        killer(.timedOut)
                        state.exited.wait()
                    }
                    continuation.resume()
                }.start()
            }
        } onCancel: {
            killer(.cancelled)
        }
        // What the program left running in its group goes with it (Foundation reaps the program).
        kill(-pid, SIGKILL)
        ChildProcessGroups.shared.unregister(pid)
        let drained = DispatchTime.now() + 1
        readers.forEach { $0.finish(by: drained) }
        let ending = state.ending ?? state.exit!  // set before `exited` was signalled
        return Outcome(ending: ending, stdout: readers[0].bytes, stderr: readers[1].bytes)
    }
}

/// Why magi killed the program, set once; how the program exited; and the signal that it has.
// Sendable by hand: `reason` and `exitEnding` are guarded by `lock`; `exited` is a semaphore.
private final class RunState: @unchecked Sendable {
    let exited = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var reason: ChildProcess.Outcome.Ending?

    var ending: ChildProcess.Outcome.Ending? { lock.withLock { reason } }

    /// How the program exited (`exited` or `signalled`), set once it has.
    var exit: ChildProcess.Outcome.Ending? {
        get { lock.withLock { exitEnding } }
        set { lock.withLock { exitEnding = newValue } }
    }
    private var exitEnding: ChildProcess.Outcome.Ending?

    /// True when this is the first reason (so the caller should kill).
    func setEnding(_ ending: ChildProcess.Outcome.Ending) -> Bool {
        lock.withLock {
            guard reason == nil else { return false }
            reason = ending
            return true
        }
    }
}

/// Reads a pipe to its end on its own thread, keeping the first `limit` bytes and calling
/// `overflow` once when more arrive.
// Sendable by hand: `kept` is guarded by `lock`; the rest is immutable.
private final class CappedReader: @unchecked Sendable {
    private let handle: FileHandle
    private let limit: Int
    private let overflow: @Sendable () -> Void
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var kept: [UInt8] = []

    /// What was read so far.
    var bytes: [UInt8] { lock.withLock { kept } }

    init(handle: FileHandle, limit: Int, overflow: @escaping @Sendable () -> Void) {
        self.handle = handle
        self.limit = limit
        self.overflow = overflow
    }

    func start() {
        Thread { [self] in
            var overflowed = false
            let fd = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                let room = lock.withLock { () -> Int in
                    let room = limit - kept.count
                    kept += buffer[..<min(n, max(0, room))]
                    return room
                }
                if n > room && !overflowed {
                    overflowed = true
                    overflow()
                }
            }
            done.signal()
        }.start()
    }

    /// Waits for the end of the pipe until `deadline` (a program that left the process group may
    /// hold the pipe open; its later output is lost).
    func finish(by deadline: DispatchTime) { _ = done.wait(timeout: deadline) }
}
