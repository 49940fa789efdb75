import Foundation

/// A running MCP server: its program, started in a process group of its own with the
/// environment of ``ChildEnvironment``; what it writes on stdout, one JSON-RPC message a line,
/// handed to its ``MCPChannel`` (a line over the limit is dropped and the requests waiting fail);
/// its stderr, of which only the tail is kept for the message when it exits; and its end, which
/// fails every request saying how it ended.
// Sendable by hand: every mutable field is guarded by `lock`; writes to the server go through the serial queue `writes`.
final class MCPServerProcess: @unchecked Sendable {
    let server: String
    /// Where its messages go.
    let channel: MCPChannel
    /// Longest message read; a longer line is dropped and the requests waiting fail.
    let messageLimit: Int
    var processIdentifier: Int32 { process.processIdentifier }

    private let process: Process
    private let input: FileHandle
    private let writes = DispatchQueue(label: "magi.mcp.write")
    /// Signalled (and re-signalled by each waiter) once the server's process has exited.
    private let exited = DispatchSemaphore(value: 0)
    /// Signalled when Foundation has reaped the process.
    private let reaped = DispatchSemaphore(value: 0)
    private let outputClosed = DispatchSemaphore(value: 0)
    private let errorsClosed = DispatchSemaphore(value: 0)

    private let lock = NSLock()
    private var closing = false
    /// Why magi stopped the server, when it did.
    private var stopReason: String?
    /// How the process ended: killed by a signal, and the status or signal number.
    private var ending: (signalled: Bool, code: Int32)?
    private var inputClosed = false
    private var stderrTail: [UInt8] = []

    /// Writing to a server that exited must fail with EPIPE, not kill magi with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Starts the server of `config`.
    ///
    /// Everything that can fail is checked before the connection exists, or after it is whole
    /// (``start(_:)``), so no initializer ever throws halfway.
    ///
    /// - Throws: ``MCPError/cannotStart(server:reason:)`` when its program is missing or fails to start.
    static func launch(_ config: MCPServerConfig, messageLimit: Int) async throws(MCPError) -> MCPServerProcess {
        _ = Self.ignoreBrokenPipes
        guard let program = config.command.first, !program.isEmpty else {
            throw .cannotStart(server: config.name, reason: "no command")
        }
        let environment = ChildEnvironment.make(adding: config.environment ?? [:])
        guard let executable = Self.resolve(program, path: environment["PATH"], directory: config.currentDirectory) else {
            throw .cannotStart(server: config.name, reason: program.contains("/") ? "no executable at \(program)"
                                                                                    : "command '\(program)' not found in PATH")
        }
        if let directory = config.currentDirectory {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
                throw .cannotStart(server: config.name, reason: "no folder \(directory)")
            }
        }
        let server = MCPServerProcess(config: config, executable: executable, environment: environment, messageLimit: messageLimit)
        try await server.start(executable)
        return server
    }

    private init(config: MCPServerConfig, executable: String, environment: [String: String], messageLimit: Int) {
        server = config.name
        channel = MCPChannel(server: config.name)
        self.messageLimit = messageLimit
        process = Process()
        ChildSpawner.prepare(process, executable: executable, arguments: Array(config.command.dropFirst()))
        process.environment = environment
        if let directory = config.currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        input = stdin.fileHandleForWriting
        let reaped = self.reaped
        process.terminationHandler = { _ in reaped.signal() }
    }

    /// Runs the server's program and the threads that read it.
    private func start(_ executable: String) async throws(MCPError) {
        let output = (process.standardOutput as! Pipe).fileHandleForReading
        let errors = (process.standardError as! Pipe).fileHandleForReading
        // Foundation starts it as the leader of a process group of its own, which magi kills however
        // it ends (ChildSpawner registers it); the kernel kills it if magi is killed. Its output is
        // read from the moment it runs, by threads started with it, not once this task resumes.
        // The threads hold the connection until the server has exited and its output is read, which
        // `close()` brings about; so the connection needs no deinit.
        do {
            try await ChildSpawner.run(process) { [self] _ in
                Thread { [self] in readMessages(from: output) }.start()
                Thread { [self] in readErrors(from: errors) }.start()
                awaitExit()
                serverExited()
            }
        } catch {
            throw .cannotStart(server: server, reason: "\(executable): \(error.localizedDescription)")
        }
    }

    /// The path of `program`: as given when it has a `/` (relative to `directory`), else the first
    /// executable of that name in `path`.
    private static func resolve(_ program: String, path: String?, directory: String?) -> String? {
        if program.contains("/") {
            let full = program.hasPrefix("/") || directory == nil ? program : directory! + "/" + program
            return FileManager.default.isExecutableFile(atPath: full) ? full : nil
        }
        let folders = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        return folders.lazy.map { ($0.isEmpty ? "." : $0) + "/" + program }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    // MARK: Writing

    /// Writes `message` and a newline on its own queue, so a server that does not read cannot
    /// block magi. A message for a server that is gone is dropped: its reader reports why.
    func send(_ message: Data) {
        let bytes = Array(message) + [UInt8(ascii: "\n")]
        writes.async { [self] in
            guard !lock.withLock({ inputClosed }) else { return }
            let fd = input.fileDescriptor
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }  // The server is gone; its reader reports why.
                offset += n
            }
        }
    }

    // MARK: Reading

    private func readMessages(from handle: FileHandle) {
        let fd = handle.fileDescriptor
        var line: [UInt8] = []
        var dropping = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var start = 0
            while start < n {
                let newline = buffer[start..<n].firstIndex(of: UInt8(ascii: "\n"))
                let end = newline ?? n
                if !dropping { line += buffer[start..<end] }
                if !dropping && line.count > messageLimit {
                    dropping = true
                    line = []
                    tooLong()
                }
                if newline != nil {
                    if !dropping { received(line) }
                    line.removeAll(keepingCapacity: line.count < 1 << 16)
                    dropping = false
                }
                start = end + 1
            }
        }
        if !dropping && !line.isEmpty { received(line) }
        outputClosed.signal()
        // A server that closes its output but goes on running is of no use: stop it.
        if exited.wait(timeout: .now() + 2) == .timedOut {
            lock.withLock { stopReason = stopReason ?? "closed its output and was stopped" }
            stop(signal: SIGKILL)
        } else {
            exited.signal()
        }
    }

    private func readErrors(from handle: FileHandle) {
        let fd = handle.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            lock.withLock {
                stderrTail += buffer[..<n]
                if stderrTail.count > 4096 { stderrTail.removeFirst(stderrTail.count - 4096) }
            }
        }
        errorsClosed.signal()
    }

    private func received(_ bytes: [UInt8]) {
        channel.receive(String(decoding: bytes, as: UTF8.self))
    }

    private func tooLong() {
        let limit = messageLimit >= 1 << 20 ? "\(messageLimit >> 20) MB" : "\(messageLimit) bytes"
        let error = MCPError.protocolViolation(server: server, reason: "it sent a message longer than \(limit), which was dropped")
        channel.warn("dropped a message longer than \(limit)")
        channel.failWaiting(error)
    }

    // MARK: The end

    /// Waits for the process to exit. Foundation learns of it only when every program holding a
    /// socket the process inherited has exited too (programs the server started and left behind),
    /// so magi watches the process itself, without reaping it (`WNOWAIT`): Foundation still does.
    private func awaitExit() {
        var info = siginfo_t()
        var result: Int32
        repeat {
            result = waitid(P_PID, id_t(process.processIdentifier), &info, WEXITED | WNOWAIT)
        } while result == -1 && errno == EINTR
        if result == 0 {
            let signalled = Int(info.si_code) != Int(CLD_EXITED)
            let code = info._sifields._sigchld.si_status
            lock.withLock { ending = (signalled, code) }
        } else {
            // Foundation reaped it first.
            reaped.wait()
            reaped.signal()
            lock.withLock { ending = (process.terminationReason == .uncaughtSignal, process.terminationStatus) }
        }
        exited.signal()
    }

    /// The server's process ended: once its output is read (or a moment has passed, when a program
    /// it started holds the pipe), every request fails saying how it ended.
    private func serverExited() {
        _ = outputClosed.wait(timeout: .now() + 1)
        _ = errorsClosed.wait(timeout: .now() + 0.5)
        // Programs it started and left behind in its group would hold the pipes open.
        kill(-process.processIdentifier, SIGKILL)
        ChildProcessGroups.shared.unregister(process.processIdentifier)
        if let reason = lock.withLock({ stopReason }) { return fail(.serverGone(server: server, reason: reason)) }
        let (signalled, code) = lock.withLock { ending ?? (false, 0) }
        let how = signalled ? "crashed (signal \(code))" : "exited with status \(code)"
        fail(.serverGone(server: server, reason: how + lastErrorLine()))
    }

    /// The last line the server wrote on stderr, as ": line", or "" when none.
    private func lastErrorLine() -> String {
        let tail = lock.withLock { String(decoding: stderrTail, as: UTF8.self) }
        return tail.split(whereSeparator: \.isNewline).last(where: { !$0.allSatisfy(\.isWhitespace) })
            .map { ": " + Self.oneLine(String($0), limit: 200) } ?? ""
    }

    private func fail(_ error: MCPError) { channel.fail(error) }

    /// Stops the server: closes its input (the polite request to exit), then after a second sends
    /// SIGTERM, and a second later SIGKILL. Returns at once; waiting requests fail.
    func close() {
        fail(.serverGone(server: server, reason: "was closed"))
        guard lock.withLock({ () -> Bool in
            defer { closing = true }
            return !closing
        }) else { return }
        let (input, exited, process) = (input, exited, process)
        let lock = lock
        writes.async { [self] in
            lock.withLock { inputClosed = true }
            try? input.close()
        }
        guard lock.withLock({ ending == nil }) else { return }
        let pid = process.processIdentifier
        Thread {
            for signal in [SIGTERM, SIGKILL] {
                if exited.wait(timeout: .now() + 1) == .success {
                    exited.signal()
                    return
                }
                kill(-pid, signal)
                kill(pid, signal)
            }
        }.start()
    }

    func stop(signal: Int32) {
        kill(-process.processIdentifier, signal)
        kill(process.processIdentifier, signal)
    }

    /// Stops the server now and waits for it: its input closed, its whole process group killed
    /// (programs it started too). For a server that is given up on before it was of any use.
    func terminate() {
        close()
        if lock.withLock({ ending == nil }) { stop(signal: SIGKILL) } else { kill(-process.processIdentifier, SIGKILL) }
        _ = waitUntilExited(timeout: .seconds(2))
    }

    /// Waits until the server's process has ended, up to `timeout`; true when it has.
    func waitUntilExited(timeout: Duration) -> Bool {
        guard exited.wait(timeout: .now() + timeout.mcpSeconds) == .success else { return false }
        exited.signal()
        return true
    }

    static func oneLine(_ text: String, limit: Int = 500) -> String {
        let flat = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
