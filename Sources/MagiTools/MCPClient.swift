import Foundation

/// A connection to one Model Context Protocol server run as a child process over stdio
/// (protocol 2025-06-18; servers answering 2024-11-05 to 2025-11-25 are accepted too).
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
    /// The protocol version magi asks for.
    public static let protocolVersion = "2025-06-18"
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
    private let connection: MCPConnection
    private let descriptors: [MCPTool.Descriptor]

    private init(config: MCPServerConfig, connection: MCPConnection, handshake: JSONValue, descriptors: [MCPTool.Descriptor]) {
        self.config = config
        self.connection = connection
        protocolVersion = handshake["protocolVersion"]?.string ?? Self.protocolVersion
        serverName = handshake["serverInfo"]?["name"]?.string
        serverVersion = handshake["serverInfo"]?["version"]?.string
        instructions = handshake["instructions"]?.string
        self.descriptors = descriptors
    }

    deinit { connection.close() }

    /// Starts the server of `config`, makes the MCP handshake and lists its tools.
    ///
    /// - Parameter messageLimit: the longest message (line) read; a longer one is dropped and the
    ///   requests under way fail.
    /// - Throws: ``MCPError`` (the server cannot start, exits, does not answer within
    ///   ``MCPServerConfig/startupTimeout``, or breaks the protocol), or `CancellationError`.
    ///   The server and its process group are stopped before this returns.
    public static func connect(_ config: MCPServerConfig, messageLimit: Int = defaultMessageLimit,
                               clientVersion: String = "0.1") async throws -> MCPClient {
        let connection = try MCPConnection.launch(config, messageLimit: messageLimit)
        do {
            let params: JSONValue = .object([
                ("protocolVersion", .string(protocolVersion)),
                ("capabilities", .object([])),
                ("clientInfo", .object([("name", .string("magi")), ("version", .string(clientVersion))])),
            ])
            let handshake = try await connection.request("initialize", params: params, timeout: config.startupTimeout)
            guard case .object = handshake, let version = handshake["protocolVersion"]?.string else {
                throw MCPError.protocolViolation(server: config.name, reason: "its initialize answer has no \"protocolVersion\"")
            }
            guard acceptedProtocolVersions.contains(version) else {
                throw MCPError.protocolViolation(server: config.name, reason: "it speaks protocol version '\(Self.oneLine(version))'; "
                    + "magi speaks \(acceptedProtocolVersions.first!) to \(acceptedProtocolVersions.last!)")
            }
            connection.notify("notifications/initialized")
            let hasTools = handshake["capabilities"]?["tools"] != nil
            let descriptors = hasTools ? try await listTools(connection, config: config) : []
            return MCPClient(config: config, connection: connection, handshake: handshake, descriptors: descriptors)
        } catch {
            // A server skipped is gone, with its whole process group, before magi goes on.
            connection.terminate()
            if case MCPError.timedOut(_, "initialize", let seconds) = error, let junk = connection.wroteOnlyJunk {
                throw MCPError.protocolViolation(server: config.name, reason: "no answer to initialize within \(MCPError.format(seconds)) s, "
                    + "only \(junk.lines) line\(junk.lines == 1 ? "" : "s") that \(junk.lines == 1 ? "is" : "are") not JSON-RPC, "
                    + "the first: \(junk.first)")
            }
            throw error
        }
    }

    /// The tools, in the server's order, named as the server names them (characters other than
    /// letters, digits, `_` and `-` become `_`). On a clash with another tool, use
    /// ``MCPTool/prefixed()``.
    public func tools() -> [MCPTool] { descriptors.map { MCPTool(client: self, descriptor: $0) } }

    /// What was ignored so far, one line each: tools with a malformed description, lines that are
    /// not JSON-RPC, dropped messages.
    public var warnings: [String] { connection.warnings }

    /// Why the server can no longer be used (it exited, crashed, was closed), or nil while it runs.
    public var failure: MCPError? { connection.failure }

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
            result = try await connection.request("tools/call", params: .object([("name", .string(name)), ("arguments", arguments)]),
                                                  timeout: timeout ?? config.callTimeout)
        } catch let error as MCPError {
            if case .timedOut(_, _, let seconds) = error { throw .timedOut(seconds: seconds) }
            throw .failed(error.description)
        } catch {
            throw .cancelled
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
    public func close() { connection.close() }

    /// Stops the server and waits for it to end: closes its input, and kills its process group
    /// when it has not exited within `grace`. For the moment magi exits.
    public func shutDown(grace: Duration = .seconds(1)) {
        connection.close()
        guard !connection.waitUntilExited(timeout: grace) else { return }
        connection.stop(signal: SIGKILL)
        _ = connection.waitUntilExited(timeout: .seconds(1))
    }

    /// The server's process id, for tests.
    var processIdentifier: Int32 { connection.processIdentifier }

    /// Waits up to `timeout` for the server's process to end; true when it has.
    func waitUntilExited(timeout: Duration) -> Bool { connection.waitUntilExited(timeout: timeout) }

    // MARK: Tools and results

    private static func listTools(_ connection: MCPConnection, config: MCPServerConfig) async throws -> [MCPTool.Descriptor] {
        var descriptors: [MCPTool.Descriptor] = []
        var cursor: String?
        var cursors: Set<String> = []
        repeat {
            let params: JSONValue? = cursor.map { .object([("cursor", .string($0))]) }
            let page = try await connection.request("tools/list", params: params, timeout: config.startupTimeout)
            guard let items = page["tools"]?.array else {
                throw MCPError.protocolViolation(server: config.name, reason: "its tools/list answer has no \"tools\" list")
            }
            for item in items {
                switch MCPTool.Descriptor.parse(item) {
                case .success(let descriptor):
                    if descriptors.contains(where: { $0.name == descriptor.name }) {
                        connection.warn("skipped a second tool named '\(descriptor.name)'")
                    } else {
                        descriptors.append(descriptor)
                    }
                case .failure(let problem): connection.warn(problem.reason)
                }
            }
            cursor = page["nextCursor"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            if let next = cursor, !cursors.insert(next).inserted || cursors.count >= 100 {
                connection.warn("stopped listing tools after \(cursors.count) pages (the cursor repeats or there are too many pages)")
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

    static func oneLine(_ text: String) -> String { MCPConnection.oneLine(text, limit: 80) }
}
