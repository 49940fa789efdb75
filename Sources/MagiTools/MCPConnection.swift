import Foundation

/// A running MCP server and the JSON-RPC 2.0 it speaks, one message per line, on its stdin and
/// stdout. Requests are matched to answers by id, so several may be under way at once; requests
/// from the server are answered (`ping`) or refused (anything else); notifications are ignored.
///
/// Whatever the server does, a request ends: with its answer, when its time passes, when its task
/// is cancelled, or when the server goes away. The server's stderr is read and only its tail kept,
/// for the message when it exits.
final class MCPConnection: @unchecked Sendable {
    let server: String
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
    private var lastID = 0
    private var slots: [Int: Slot] = [:]
    private var gone: MCPError?
    private var closing = false
    /// Why magi stopped the server, when it did.
    private var stopReason: String?
    /// How the process ended: killed by a signal, and the status or signal number.
    private var ending: (signalled: Bool, code: Int32)?
    private var inputClosed = false
    private var messagesRead = 0
    private var junkLines = 0
    private var firstJunk: String?
    private var stderrTail: [UInt8] = []
    private var warningList: [String] = []
    private var warningsDropped = 0

    /// A request between its id and its end.
    private enum Slot {
        /// Its id is taken; the caller is about to wait.
        case reserved
        /// The caller waits.
        case waiting(CheckedContinuation<JSONValue, any Error>)
        /// Ended (cancelled) before the caller waited.
        case ended(any Error)
    }

    /// Writing to a server that exited must fail with EPIPE, not kill magi with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Starts the server of `config`.
    ///
    /// Everything that can fail is checked before the connection exists, or after it is whole
    /// (``start(_:)``), so no initializer ever throws halfway.
    ///
    /// - Throws: ``MCPError/cannotStart(server:reason:)`` when its program is missing or fails to start.
    static func launch(_ config: MCPServerConfig, messageLimit: Int) throws(MCPError) -> MCPConnection {
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
        let connection = MCPConnection(config: config, executable: executable, environment: environment, messageLimit: messageLimit)
        try connection.start(executable)
        return connection
    }

    private init(config: MCPServerConfig, executable: String, environment: [String: String], messageLimit: Int) {
        server = config.name
        self.messageLimit = messageLimit
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(config.command.dropFirst())
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
    private func start(_ executable: String) throws(MCPError) {
        do { try process.run() } catch {
            throw .cannotStart(server: server, reason: "\(executable): \(error.localizedDescription)")
        }
        // Foundation starts it as the leader of a process group of its own, which magi kills however it ends.
        ChildProcessGroups.shared.register(process.processIdentifier)
        let output = (process.standardOutput as! Pipe).fileHandleForReading
        let errors = (process.standardError as! Pipe).fileHandleForReading
        // The threads hold the connection until the server has exited and its output is read, which
        // `close()` brings about; so the connection needs no deinit.
        Thread { [self] in readMessages(from: output) }.start()
        Thread { [self] in readErrors(from: errors) }.start()
        Thread { [self] in
            awaitExit()
            serverExited()
        }.start()
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

    // MARK: Requests

    /// Sends the request `method` and waits for its answer's `result`.
    ///
    /// - Throws: ``MCPError`` (an error answer, no answer in `timeout`, the server gone), or
    ///   `CancellationError` when the task is cancelled (the server is told with
    ///   `notifications/cancelled`).
    func request(_ method: String, params: JSONValue? = nil, timeout: Duration) async throws -> JSONValue {
        let id: Int = lock.withLock {
            lastID += 1
            slots[lastID] = .reserved
            return lastID
        }
        var message: [(key: String, value: JSONValue)] = [("jsonrpc", .string("2.0")), ("id", .number(String(id))), ("method", .string(method))]
        if let params { message.append(("params", params)) }
        let seconds = timeout.mcpSeconds
        do {
            return try await wait(for: id, message: .object(message), method: method, seconds: seconds)
        } catch MCPError.errorResponse(let server, _, let code, let text) {
            throw MCPError.errorResponse(server: server, method: method, code: code, message: text)
        }
    }

    private func wait(for id: Int, message: JSONValue, method: String, seconds: Double) async throws -> JSONValue {
        // The server must not be told to cancel initialize: magi stops it instead.
        let tellServer = method != "initialize"
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JSONValue, any Error>) in
                let early: (any Error)? = lock.withLock {
                    if case .ended(let error) = slots[id] {
                        slots[id] = nil
                        return error
                    }
                    if let gone {
                        slots[id] = nil
                        return gone
                    }
                    slots[id] = .waiting(continuation)
                    return nil
                }
                if let early { return continuation.resume(throwing: early) }
                send(message)
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in
                    guard let self else { return }
                    if end(id, with: .failure(MCPError.timedOut(server: server, method: method, seconds: seconds))) && tellServer {
                        cancelled(id, reason: "timed out")
                    }
                }
            }
        } onCancel: {
            if end(id, with: .failure(CancellationError())) && tellServer { cancelled(id, reason: "cancelled") }
        }
    }

    /// Sends the notification `method`.
    func notify(_ method: String, params: JSONValue? = nil) {
        var message: [(key: String, value: JSONValue)] = [("jsonrpc", .string("2.0")), ("method", .string(method))]
        if let params { message.append(("params", params)) }
        send(.object(message))
    }

    /// Tells the server that magi no longer waits for request `id`.
    private func cancelled(_ id: Int, reason: String) {
        notify("notifications/cancelled", params: .object([("requestId", .number(String(id))), ("reason", .string(reason))]))
    }

    /// Ends request `id` with `result`; true when it was still under way.
    @discardableResult
    private func end(_ id: Int, with result: Result<JSONValue, any Error>) -> Bool {
        let continuation: CheckedContinuation<JSONValue, any Error>? = lock.withLock {
            switch slots[id] {
            case .waiting(let continuation)?:
                slots[id] = nil
                return continuation
            case .reserved?:
                if case .failure(let error) = result { slots[id] = .ended(error) }
                return nil
            case .ended?, nil:
                return nil
            }
        }
        continuation?.resume(with: result)
        return continuation != nil
    }

    /// Writes `message` on its own queue, so a server that does not read cannot block magi.
    private func send(_ message: JSONValue) {
        let bytes = Array((message.compactText + "\n").utf8)
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
        let text = String(decoding: bytes, as: UTF8.self)
        guard !text.allSatisfy(\.isWhitespace) else { return }
        guard let message = try? JSONValue(parsing: text) else { return junk(text) }
        switch message {
        case .array(let batch): batch.forEach { handle($0, text: text) }
        default: handle(message, text: text)
        }
    }

    private func handle(_ message: JSONValue, text: String) {
        guard case .object = message else { return junk(text) }
        if let method = message["method"]?.string {
            lock.withLock { messagesRead += 1 }
            if let id = message["id"], id != .null { answer(id: id, method: method) }
            return
        }
        guard let id = message["id"], message["result"] != nil || message["error"] != nil else { return junk(text) }
        lock.withLock { messagesRead += 1 }
        let number: Int? = switch id {
        case .number(let literal): Int(literal) ?? Double(literal).flatMap { Int(exactly: $0) }
        case .string(let string): Int(string)
        default: nil
        }
        guard let number else { return warn("an answer with an unknown id \(id.compactText) was ignored") }
        if let error = message["error"] {
            let code = error["code"]?.number.flatMap { Int(exactly: $0) } ?? 0
            let text = error["message"]?.string ?? error.compactText
            end(number, with: .failure(MCPError.errorResponse(server: server, method: "", code: code, message: Self.oneLine(text))))
        } else {
            end(number, with: .success(message["result"]!))
        }
    }

    /// Answers a request from the server: `ping` with an empty result, anything else with
    /// "method not found" (magi offers no client capabilities).
    private func answer(id: JSONValue, method: String) {
        var reply: [(key: String, value: JSONValue)] = [("jsonrpc", .string("2.0")), ("id", id)]
        if method == "ping" {
            reply.append(("result", .object([])))
        } else {
            reply.append(("error", .object([("code", .number("-32601")), ("message", .string("Method not found: \(method)"))])))
        }
        send(.object(reply))
    }

    private func junk(_ text: String) {
        let count = lock.withLock { () -> Int in
            junkLines += 1
            if firstJunk == nil { firstJunk = Self.oneLine(text, limit: 80) }
            return junkLines
        }
        if count <= 3 { warn("ignored a line that is not JSON-RPC: \(Self.oneLine(text, limit: 80))") }
    }

    private func tooLong() {
        let limit = messageLimit >= 1 << 20 ? "\(messageLimit >> 20) MB" : "\(messageLimit) bytes"
        let error = MCPError.protocolViolation(server: server, reason: "it sent a message longer than \(limit), which was dropped")
        warn("dropped a message longer than \(limit)")
        failWaiting(error)
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

    /// Marks the server gone with `error` (the first reason wins) and fails every waiting request.
    private func fail(_ error: MCPError) {
        lock.withLock { if gone == nil { gone = error } }
        failWaiting(lock.withLock { gone! })
    }

    private func failWaiting(_ error: MCPError) {
        let waiting: [CheckedContinuation<JSONValue, any Error>] = lock.withLock {
            var waiting: [CheckedContinuation<JSONValue, any Error>] = []
            for (id, slot) in slots {
                if case .waiting(let continuation) = slot {
                    waiting.append(continuation)
                    slots[id] = nil
                }
            }
            return waiting
        }
        waiting.forEach { $0.resume(throwing: error) }
    }

    /// Why the server cannot be used, or nil while it runs.
    var failure: MCPError? { lock.withLock { gone } }

    /// True when the server wrote something other than JSON-RPC and nothing else.
    var wroteOnlyJunk: (lines: Int, first: String)? {
        lock.withLock { messagesRead == 0 && junkLines > 0 ? (junkLines, firstJunk ?? "") : nil }
    }

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

    // MARK: Warnings

    /// What was ignored: lines that are not JSON-RPC, dropped messages, skipped tools.
    var warnings: [String] {
        lock.withLock { warningList + (warningsDropped > 0 ? ["(\(warningsDropped) more warnings)"] : []) }
    }

    func warn(_ warning: String) {
        lock.withLock {
            if warningList.count < 50 { warningList.append("MCP server '\(server)': \(warning)") } else { warningsDropped += 1 }
        }
    }

    static func oneLine(_ text: String, limit: Int = 500) -> String {
        let flat = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
