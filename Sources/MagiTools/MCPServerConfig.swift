import Foundation

/// How to start one MCP server that speaks over stdio: its program and arguments, extra
/// environment variables, working folder, and time limits.
public struct MCPServerConfig: Sendable, Equatable {
    /// The server's name in messages and in prefixed tool names.
    public var name: String
    /// The program and its arguments; a program without a `/` is looked up in `PATH`.
    public var command: [String]
    /// Variables set for the server (its `env` table), on top of the few ``ChildEnvironment``
    /// passes on from magi's; nothing else of magi's environment reaches it.
    public var environment: [String: String]?
    /// The server's working folder (magi's when nil).
    public var currentDirectory: String?
    /// The longest the server may take to start and to list its tools (per request).
    public var startupTimeout: Duration
    /// The longest one tool call may take.
    public var callTimeout: Duration

    public init(name: String, command: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
                startupTimeout: Duration = .seconds(10), callTimeout: Duration = .seconds(60)) {
        self.name = name
        self.command = command
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.startupTimeout = startupTimeout
        self.callTimeout = callTimeout
    }

    /// The servers of a configuration document shaped like Claude Desktop's:
    ///
    /// ```json
    /// {"mcpServers": {"files": {"command": "npx", "args": ["-y", "some-server"], "env": {"KEY": "v"}}}}
    /// ```
    ///
    /// Per server: `command` (required), `args`, `env` (the variables the server gets besides
    /// ``ChildEnvironment/allowedNames``), `cwd`, and magi's `timeout_seconds` (a
    /// tool call's limit, default 60) and `startup_timeout_seconds` (how long it may take to answer
    /// `initialize` and list its tools, default 10). `"servers"` is accepted for `"mcpServers"` (VS Code), and
    /// entries with `"disabled": true` are left out. Only stdio servers are supported.
    ///
    /// - Throws: ``MCPError/invalidConfiguration(_:)`` naming the first problem.
    public static func servers(parsing text: String) throws(MCPError) -> [MCPServerConfig] {
        let document: JSONValue
        do { document = try JSONValue(parsing: text) } catch { throw .invalidConfiguration("not valid JSON (\(error))") }
        guard case .object = document else { throw .invalidConfiguration("the document must be a JSON object") }
        guard let servers = document["mcpServers"] ?? document["servers"] else {
            throw .invalidConfiguration("no \"mcpServers\" object")
        }
        guard case .object(let entries) = servers else { throw .invalidConfiguration("\"mcpServers\" must be an object") }
        var configs: [MCPServerConfig] = []
        for (name, entry) in entries {
            guard !name.isEmpty else { throw .invalidConfiguration("a server has an empty name") }
            if let config = try server(named: name, entry) { configs.append(config) }
        }
        return configs
    }

    /// The servers of the configuration file at `path`.
    ///
    /// - Throws: ``MCPError/invalidConfiguration(_:)`` naming the file and the problem.
    public static func servers(file path: String) throws(MCPError) -> [MCPServerConfig] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .invalidConfiguration("cannot read \(path)") }
        do {
            return try servers(parsing: String(decoding: data, as: UTF8.self))
        } catch {
            if case .invalidConfiguration(let reason) = error { throw .invalidConfiguration("\(path): \(reason)") }
            throw error
        }
    }

    private static func server(named name: String, _ entry: JSONValue) throws(MCPError) -> MCPServerConfig? {
        func bad(_ reason: String) -> MCPError { .invalidConfiguration("server '\(name)': \(reason)") }
        guard case .object = entry else { throw bad("must be an object") }
        if entry["disabled"] == .bool(true) { return nil }
        if let type = entry["type"], type != .string("stdio") {
            throw bad("only stdio servers (with \"command\") are supported, not \(type.compactText)")
        }
        guard let command = entry["command"]?.string, !command.isEmpty else {
            throw bad(entry["url"] != nil ? "only stdio servers (with \"command\") are supported, not URLs"
                                          : "\"command\" must be a non-empty string")
        }
        var arguments: [String] = []
        if let args = entry["args"] {
            guard let items = args.array, items.allSatisfy({ $0.string != nil }) else { throw bad("\"args\" must be a list of strings") }
            arguments = items.compactMap(\.string)
        }
        var environment: [String: String]?
        if let env = entry["env"] {
            guard case .object(let members) = env, members.allSatisfy({ $0.value.string != nil }) else {
                throw bad("\"env\" must be an object of strings")
            }
            environment = Dictionary(members.map { ($0.key, $0.value.string!) }, uniquingKeysWith: { $1 })
        }
        var directory: String?
        if let cwd = entry["cwd"] {
            guard let path = cwd.string, !path.isEmpty else { throw bad("\"cwd\" must be a non-empty string") }
            directory = path
        }
        var config = MCPServerConfig(name: name, command: [command] + arguments, environment: environment, currentDirectory: directory)
        if let timeout = entry["timeout_seconds"] {
            guard let seconds = timeout.number, seconds > 0, seconds <= 3600 else {
                throw bad("\"timeout_seconds\" must be a number between 0 and 3600")
            }
            config.callTimeout = .milliseconds(Int(seconds * 1000))
        }
        if let timeout = entry["startup_timeout_seconds"] {
            guard let seconds = timeout.number, seconds > 0, seconds <= 600 else {
                throw bad("\"startup_timeout_seconds\" must be a number between 0 and 600")
            }
            config.startupTimeout = .milliseconds(Int(seconds * 1000))
        }
        return config
    }
}
