import Foundation

import Foundation
import MCP

/// A connection to one Model Context Protocol server: a program magi starts and talks to over its
/// stdin and stdout, or a remote server over Streamable HTTP (``MCPServerConfig/url``). The
/// protocol is the official Swift SDK's `Client` (initialize, tools/list, tools/call,
/// cancellation, requests from the server); the transports are magi's own
/// (``MCPStdioTransport``, ``MCPHTTPTransport``), and so are the limits around them.
///
/// ```swift
/// let client = try await MCPClient.connect(config)
/// var registry = ToolRegistry()
/// for tool in client.tools() { try registry.add(tool) }   // or tool.prefixed() on a clash
/// ```
///
/// The server's tools become ``MCPTool``s. The server is stopped by ``close()`` or when the client
/// and all its tools are released. Whatever the server does — exit, hang, crash, write garbage or
/// megabytes — connecting and calling end with a one-line ``MCPError`` or ``ToolError`` in time.
public final class MCPClient: Sendable {
    /// The protocol version magi asks for: the SDK's newest.
    public static let protocolVersion = Version.latest
    /// The versions magi accepts in the server's answer: the tools methods are the same in all.
    public static let acceptedProtocolVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    /// The default longest message (one line) read from a server.
    public static let defaultMessageLimit = 1 << 20

    /// How the server was started.
    public let config: MCPServerConfig
    /// The protocol version the server answered with.
    public let protocolVersion: String
    /// The name and version the server gave, if any.
    public let serverName: String?
    public let serverVersion: String?
    /// The server's advice on using it, for the system prompt, if it gave any.
    public let instructions: String?
    private let sdk: MCP.Client
    private let link: Link
    private let descriptors: [MCPTool.Descriptor]

    /// Where the server is.
    private enum Link: Sendable {
        case process(MCPServerProcess)
        case http(MCPHTTPTransport)

        var channel: MCPChannel {
            switch self {
            case .process(let process): process.channel
            case .http(let transport): transport.channel
            }
        }

        func close() {
            switch self {
            case .process(let process): process.close()
            case .http(let transport): transport.close()
            }
        }
    }

    private var channel: MCPChannel { link.channel }

    private init(config: MCPServerConfig, sdk: MCP.Client, link: Link, handshake: Initialize.Result, descriptors: [MCPTool.Descriptor]) {
        self.config = config
        self.sdk = sdk
        self.link = link
        protocolVersion = handshake.protocolVersion
        serverName = handshake.serverInfo.name
        serverVersion = handshake.serverInfo.version
        instructions = handshake.instructions
        self.descriptors = descriptors
    }

    deinit { close() }

    /// Starts the server of `config` (or reaches it at its URL), makes the MCP handshake and lists
    /// its tools.
    ///
    /// - Parameter messageLimit: the longest message (line) read; a longer one is dropped and the
    ///   requests under way fail.
    /// - Throws: ``MCPError`` (the server cannot start or be reached, exits, does not answer within
    ///   ``MCPServerConfig/startupTimeout``, or breaks the protocol), or `CancellationError`.
    ///   The server and its process group are stopped before this returns.
    public static func connect(_ config: MCPServerConfig, messageLimit: Int = defaultMessageLimit,
                               clientVersion: String = "0.1") async throws -> MCPClient {
        let link: Link
        let transport: any Transport
        if let url = config.url {
            let http = try MCPHTTPTransport(config: config, url: url, messageLimit: messageLimit)
            (link, transport) = (.http(http), http)
        } else {
            let process = try await MCPServerProcess.launch(config, messageLimit: messageLimit)
            (link, transport) = (.process(process), MCPStdioTransport(process: process))
        }
        let sdk = MCP.Client(name: "magi", version: clientVersion)
        await sdk.withMethodHandler(Ping.self) { _ in Empty() }
        do {
            // The server is not told to cancel initialize: magi stops it instead.
            let handshake = try await race(link.channel, method: "initialize", timeout: config.startupTimeout,
                                           { try await sdk.connect(transport: transport) }, abandon: {})
            guard acceptedProtocolVersions.contains(handshake.protocolVersion) else {
                throw MCPError.protocolViolation(server: config.name, reason: "it speaks protocol version '\(Self.oneLine(handshake.protocolVersion))'; "
                    + "magi speaks \(acceptedProtocolVersions.first!) to \(acceptedProtocolVersions.last!)")
            }
            if case .http(let http) = link { await http.negotiated(handshake.protocolVersion) }
            let descriptors = handshake.capabilities.tools != nil ? try await listTools(sdk, link.channel, config: config) : []
            return MCPClient(config: config, sdk: sdk, link: link, handshake: handshake, descriptors: descriptors)
        } catch {
            // A server skipped is gone, with its whole process group, before magi goes on.
            let junk = link.channel.wroteOnlyJunk
            switch link {
            case .process(let process): process.terminate()
            case .http(let transport): transport.close()
            }
            await sdk.disconnect()
            if case MCPError.timedOut(_, "initialize", let seconds) = error, let junk {
                throw MCPError.protocolViolation(server: config.name, reason: "no answer to initialize within \(MCPError.format(seconds)) s, "
                    + "only \(junk.lines) line\(junk.lines == 1 ? "" : "s") that \(junk.lines == 1 ? "is" : "are") not JSON-RPC, "
                    + "the first: \(junk.first)")
            }
            if error is MCPError || error is CancellationError { throw error }
            throw MCPError.protocolViolation(server: config.name, reason: "its initialize answer is malformed (\(Self.oneLine(String(describing: error))))")
        }
    }

    /// The tools, in the server's order, named as the server names them (characters other than
    /// letters, digits, `_` and `-` become `_`). On a clash with another tool, use
    /// ``MCPTool/prefixed()``.
    public func tools() -> [MCPTool] { descriptors.map { MCPTool(client: self, descriptor: $0) } }

    /// What was ignored so far, one line each: tools with a malformed description, lines that are
    /// not JSON-RPC, dropped messages.
    public var warnings: [String] { channel.warnings }

    /// Why the server can no longer be used (it exited, crashed, was closed), or nil while it runs.
    public var failure: MCPError? { channel.failure }

    /// Calls the server's tool `name` (the server's own name for it) with `arguments` (a JSON
    /// object) and returns the text of its result; images, audio and binary resources appear as
    /// a short placeholder such as `[image: image/png, 67 bytes]`.
    ///
    /// - Parameter timeout: the longest to wait; ``MCPServerConfig/callTimeout`` when nil.
    /// - Throws: ``ToolError/failed(_:)`` when the tool reports an error or the server fails,
    ///   ``ToolError/timedOut(seconds:)``, or ``ToolError/cancelled`` when the task is cancelled
    ///   (the server is told with `notifications/cancelled`).
    public func call(_ name: String, arguments: JSONValue, timeout: Duration? = nil) async throws(ToolError) -> String {
        let result: JSONValue
        do {
            let values = try JSONDecoder().decode([String: Value].self, from: Data(arguments.compactText.utf8))
            result = try await Self.perform(CallToolAsWritten.request(.init(name: name, arguments: values)), method: "tools/call",
                                            timeout: timeout ?? config.callTimeout, sdk: sdk, channel: channel, server: config.name)
        } catch let error as MCPError {
            if case .timedOut(_, _, let seconds) = error { throw .timedOut(seconds: seconds) }
            throw .failed(error.description)
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .invalidArguments("the arguments must be a JSON object")
        }
        guard case .object = result else {
            throw .failed(MCPError.protocolViolation(server: config.name, reason: "its tools/call answer is not an object").description)
        }
        let text = Self.text(of: result)
        if result["isError"] == .bool(true) { throw .failed(text == "(no output)" ? "the tool '\(name)' reported an error" : text) }
        return text
    }

    /// Stops the server: its input is closed, then it is terminated if it does not exit within a
    /// second. Calls under way and later fail. Returns at once.
    public func close() {
        link.close()
        let sdk = sdk
        Task { await sdk.disconnect() }
    }

    /// Stops the server and waits for it to end: closes its input, and kills its process group
    /// when it has not exited within `grace`. For the moment magi exits.
    public func shutDown(grace: Duration = .seconds(1)) {
        close()
        guard case .process(let process) = link, !process.waitUntilExited(timeout: grace) else { return }
        process.stop(signal: SIGKILL)
        _ = process.waitUntilExited(timeout: .seconds(1))
    }

    /// The server's process id (0 for a remote server), for tests.
    var processIdentifier: Int32 {
        if case .process(let process) = link { return process.processIdentifier }
        return 0
    }

    /// Waits up to `timeout` for the server's process to end; true when it has (or there is none).
    func waitUntilExited(timeout: Duration) -> Bool {
        if case .process(let process) = link { return process.waitUntilExited(timeout: timeout) }
        return true
    }

    // MARK: Requests

    /// Sends `request` through the SDK's client and returns its answer's `result` as the server
    /// wrote it.
    ///
    /// - Throws: ``MCPError`` (an error answer, no answer in `timeout`, the server gone), or
    ///   `CancellationError` when the task is cancelled (the server is told with
    ///   `notifications/cancelled`).
    private static func perform<M: MCP.Method>(_ request: Request<M>, method: String, timeout: Duration,
                                               sdk: MCP.Client, channel: MCPChannel, server: String) async throws -> JSONValue {
        if let failure = channel.failure { throw failure }
        let context = try await sdk.send(request)
        let id = context.requestID
        do {
            _ = try await race(channel, method: method, timeout: timeout, { try await context.value }, abandon: {
                try? await sdk.cancelRequest(id, reason: "magi no longer waits")
            })
        } catch let error as MCPError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The SDK's client ends a request with an error answer, or an answer it cannot read.
            if case .error(let code, let message)? = channel.takeAnswer(id.description) {
                throw MCPError.errorResponse(server: server, method: method, code: code, message: message)
            }
            throw MCPError.protocolViolation(server: server, reason: "its \(method) answer is malformed (\(oneLine(String(describing: error))))")
        }
        guard case .result(let result)? = channel.takeAnswer(id.description) else {
            throw MCPError.protocolViolation(server: server, reason: "its \(method) answer has no result")
        }
        return result
    }

    /// Runs `operation` until it ends, `timeout` passes, the server fails, or the task is
    /// cancelled, whichever comes first; in the three last cases calls `abandon` (which must end
    /// `operation`) in the background.
    private static func race<T: Sendable>(_ channel: MCPChannel, method: String, timeout: Duration,
                                          _ operation: @escaping @Sendable () async throws -> T,
                                          abandon: @escaping @Sendable () async -> Void) async throws -> T {
        let outcome = RaceOutcome<T>()
        let work = Task {
            do { outcome.finish(.success(try await operation()), byOperation: true) } catch { outcome.finish(.failure(error), byOperation: true) }
        }
        let seconds = timeout.mcpSeconds
        // A dispatch timer, not `Task.sleep`: the time limit holds even while every thread of the
        // concurrency pool is busy.
        let timer = DispatchWorkItem {
            outcome.finish(.failure(MCPError.timedOut(server: channel.server, method: method, seconds: seconds)), byOperation: false)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
        let token = channel.watch { outcome.finish(.failure($0), byOperation: false) }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { outcome.wait($0) }
        } onCancel: {
            outcome.finish(.failure(CancellationError()), byOperation: false)
        }
        timer.cancel()
        channel.unwatch(token)
        if !outcome.operationWon {
            Task { await abandon() }
            _ = work  // It ends once `abandon` has ended the operation.
        }
        return try result.get()
    }

    /// The list of tools, page by page (at most 100 pages).
    private static func listTools(_ sdk: MCP.Client, _ channel: MCPChannel, config: MCPServerConfig) async throws -> [MCPTool.Descriptor] {
        var descriptors: [MCPTool.Descriptor] = []
        var cursor: String?
        var cursors: Set<String> = []
        repeat {
            let parameters = cursor.map { ListTools.Parameters(cursor: $0) } ?? ListTools.Parameters()
            let page = try await perform(ListToolsAsWritten.request(parameters), method: "tools/list", timeout: config.startupTimeout,
                                         sdk: sdk, channel: channel, server: config.name)
            guard let items = page["tools"]?.array else {
                throw MCPError.protocolViolation(server: config.name, reason: "its tools/list answer has no \"tools\" list")
            }
            for item in items {
                switch MCPTool.Descriptor.parse(item) {
                case .success(let descriptor):
                    if descriptors.contains(where: { $0.name == descriptor.name }) {
                        channel.warn("skipped a second tool named '\(descriptor.name)'")
                    } else {
                        descriptors.append(descriptor)
                    }
                case .failure(let problem): channel.warn(problem.reason)
                }
            }
            cursor = page["nextCursor"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            if let next = cursor, !cursors.insert(next).inserted || cursors.count >= 100 {
                channel.warn("stopped listing tools after \(cursors.count) pages (the cursor repeats or there are too many pages)")
                cursor = nil
            }
        } while cursor != nil
        return descriptors
    }

    /// The text the model sees for a tools/call result: its content items one after another.
    static func text(of result: JSONValue) -> String {
        var parts: [String] = []
        for item in result["content"]?.array ?? [] {
            let type = item["type"]?.string ?? "unknown"
            switch type {
            case "text": parts.append(item["text"]?.string ?? "")
            case "image", "audio":
                parts.append("[\(type): \(item["mimeType"]?.string ?? "unknown type"), \(base64Size(item["data"]?.string)) bytes]")
            case "resource":
                let resource = item["resource"]
                if let text = resource?["text"]?.string {
                    parts.append(text)
                } else {
                    let uri = resource?["uri"]?.string ?? "?"
                    let type = resource?["mimeType"]?.string ?? "unknown type"
                    parts.append("[resource: \(uri), \(type), \(base64Size(resource?["blob"]?.string)) bytes]")
                }
            case "resource_link":
                let name = item["name"]?.string.map { $0 + " " } ?? ""
                parts.append("[resource link: \(name)\(item["uri"]?.string ?? "?")]")
            default: parts.append("[\(oneLine(type)) content]")
            }
        }
        if parts.isEmpty, let structured = result["structuredContent"] { return structured.pythonText }
        return parts.isEmpty ? "(no output)" : parts.joined(separator: "\n")
    }

    /// The number of bytes base64 `text` decodes to.
    private static func base64Size(_ text: String?) -> Int {
        guard let text else { return 0 }
        let symbols = text.utf8.filter { !($0 == 10 || $0 == 13 || $0 == 32) }
        let padding = symbols.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        return max(0, symbols.count / 4 * 3 + (symbols.count % 4 == 0 ? 0 : symbols.count % 4 - 1) - padding)
    }

    static func oneLine(_ text: String) -> String { MCPServerProcess.oneLine(text, limit: 80) }
}

/// tools/list and tools/call as the SDK's client sends them, with results it does not read:
/// ``MCPClient`` reads them as the server wrote them (``MCPChannel``), to keep the key order of
/// schemas and to put up with tools and content the SDK's types would refuse.
private enum ListToolsAsWritten: MCP.Method {
    static let name = ListTools.name
    typealias Parameters = ListTools.Parameters
    typealias Result = Unread
}

private enum CallToolAsWritten: MCP.Method {
    static let name = CallTool.name
    typealias Parameters = CallTool.Parameters
    typealias Result = Unread
}

/// Any JSON, not read.
private struct Unread: Codable, Hashable, Sendable {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}

/// Which of a race's contenders ended first, handed to the one waiting.
// Sendable by hand: every mutable field is guarded by `lock`.
private final class RaceOutcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, any Error>?
    private var waiter: CheckedContinuation<Result<T, any Error>, Never>?
    private var operationFirst = false

    /// Whether the operation itself ended the race.
    var operationWon: Bool { lock.withLock { operationFirst } }

    /// Ends the race with `result`, unless it has ended.
    func finish(_ result: Result<T, any Error>, byOperation isOperation: Bool) {
        let waiter: CheckedContinuation<Result<T, any Error>, Never>? = lock.withLock {
            guard self.result == nil else { return nil }
            self.result = result
            operationFirst = isOperation
            defer { self.waiter = nil }
            return self.waiter
        }
        waiter?.resume(returning: result)
    }

    func wait(_ continuation: CheckedContinuation<Result<T, any Error>, Never>) {
        let ready: Result<T, any Error>? = lock.withLock {
            if let result { return result }
            waiter = continuation
            return nil
        }
        if let ready { continuation.resume(returning: ready) }
    }
}
