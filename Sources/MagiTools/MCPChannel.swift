import Foundation
import Logging

/// What a transport of magi's (stdio, Streamable HTTP) shares with ``MCPClient``, around the SDK's
/// `Client`, which speaks the protocol:
///
/// - the server's messages, checked and handed to the SDK as a stream: text that is not a JSON-RPC
///   object is counted and warned about, never passed on; a batch is passed on message by message;
/// - each answer as the server wrote it (`result` with its key order, or its error's code and
///   message), kept by request id until ``MCPClient`` takes it — the SDK's `Value` keeps no key
///   order, and a tool's schema must keep the server's order of properties;
/// - why the server can no longer be used, with watchers that end the requests waiting for it (the
///   SDK's client leaves a request waiting when its transport ends);
/// - warnings.
// Sendable by hand: every mutable field is guarded by `lock`.
final class MCPChannel: @unchecked Sendable {
    let server: String
    /// The server's messages, for the SDK's client; it ends with the server's failure.
    let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation

    /// An answer as the server wrote it.
    enum Answer: Sendable {
        case result(JSONValue)
        case error(code: Int, message: String)
    }

    private let lock = NSLock()
    private var answers: [String: Answer] = [:]
    /// Ids of `answers` oldest first, to drop answers nobody takes (requests that timed out).
    private var answerOrder: [String] = []
    private var gone: MCPError?
    private var watchers: [Int: @Sendable (MCPError) -> Void] = [:]
    private var lastWatcher = 0
    private var messagesRead = 0
    private var junkLines = 0
    private var firstJunk: String?
    private var warningList: [String] = []
    private var warningsDropped = 0

    /// Answers kept at most; older ones nobody took are dropped.
    private static let answerLimit = 256

    /// A logger that says nothing: the SDK's warnings are not for magi's user (magi keeps its own).
    static let silentLogger = Logger(label: "magi.mcp") { _ in SwiftLogNoOpLogHandler() }

    init(server: String) {
        self.server = server
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    // MARK: From the server

    /// Takes one message the server wrote (a line on stdio, an event or body over HTTP).
    func receive(_ text: String) {
        guard !text.allSatisfy(\.isWhitespace) else { return }
        guard let message = try? JSONValue(parsing: text) else { return junk(text) }
        switch message {
        case .array(let batch): batch.forEach { handle($0, text: text) }
        default: handle(message, text: text)
        }
    }

    private func handle(_ message: JSONValue, text: String) {
        guard case .object = message else { return junk(text) }
        if message["method"]?.string != nil {
            lock.withLock { messagesRead += 1 }
            continuation.yield(Data(message.compactText.utf8))
            return
        }
        guard let id = message["id"], message["result"] != nil || message["error"] != nil else { return junk(text) }
        let key: String
        switch id {
        case .string(let string): key = string
        case .number(let literal): key = Int(literal).map(String.init) ?? Double(literal).flatMap { Int(exactly: $0) }.map(String.init) ?? literal
        default: return warn("an answer with an unknown id \(id.compactText) was ignored")
        }
        let answer: Answer
        if let error = message["error"] {
            let code = error["code"]?.number.flatMap { Int(exactly: $0) } ?? 0
            answer = .error(code: code, message: MCPServerProcess.oneLine(error["message"]?.string ?? error.compactText))
        } else {
            answer = .result(message["result"]!)
        }
        lock.withLock {
            messagesRead += 1
            if answers.updateValue(answer, forKey: key) == nil { answerOrder.append(key) }
            if answerOrder.count > Self.answerLimit { answers[answerOrder.removeFirst()] = nil }
        }
        continuation.yield(Data(message.compactText.utf8))
    }

    /// Takes the answer to request `id`, as the server wrote it.
    func takeAnswer(_ id: String) -> Answer? {
        lock.withLock {
            guard let answer = answers.removeValue(forKey: id) else { return nil }
            answerOrder.removeAll { $0 == id }
            return answer
        }
    }

    private func junk(_ text: String) {
        let count = lock.withLock { () -> Int in
            junkLines += 1
            if firstJunk == nil { firstJunk = MCPServerProcess.oneLine(text, limit: 80) }
            return junkLines
        }
        if count <= 3 { warn("ignored a line that is not JSON-RPC: \(MCPServerProcess.oneLine(text, limit: 80))") }
    }

    /// True when the server wrote something other than JSON-RPC and nothing else.
    var wroteOnlyJunk: (lines: Int, first: String)? {
        lock.withLock { messagesRead == 0 && junkLines > 0 ? (junkLines, firstJunk ?? "") : nil }
    }

    // MARK: Failures

    /// Why the server cannot be used, or nil while it can.
    var failure: MCPError? { lock.withLock { gone } }

    /// Marks the server gone with `error` (the first reason wins), ends the requests waiting and
    /// the stream of messages.
    func fail(_ error: MCPError) {
        let first = lock.withLock { () -> MCPError in
            if gone == nil { gone = error }
            return gone!
        }
        failWaiting(first)
        continuation.finish(throwing: first)
    }

    /// Ends the requests waiting now with `error`; the server stays in use.
    func failWaiting(_ error: MCPError) {
        let waiting = lock.withLock { () -> [@Sendable (MCPError) -> Void] in
            defer { watchers = [:] }
            return Array(watchers.values)
        }
        waiting.forEach { $0(error) }
    }

    /// Calls `handler` once, with the first failure from now on (at once when the server is gone).
    /// Returns a token for ``unwatch(_:)``.
    func watch(_ handler: @escaping @Sendable (MCPError) -> Void) -> Int {
        let (token, already) = lock.withLock { () -> (Int, MCPError?) in
            if let gone { return (0, gone) }
            lastWatcher += 1
            watchers[lastWatcher] = handler
            return (lastWatcher, nil)
        }
        if let already { handler(already) }
        return token
    }

    func unwatch(_ token: Int) {
        _ = lock.withLock { watchers.removeValue(forKey: token) }
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
}
