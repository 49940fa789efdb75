import Foundation

/// How to reach one MCP server: a program that speaks over stdio (its arguments, extra environment
/// variables, working folder), or a remote server's Streamable HTTP URL with its headers; and time
/// limits.
public struct MCPServerConfig: Sendable, Equatable {
    /// The server's name in messages and in prefixed tool names.
    public var name: String
    /// The program and its arguments; a program without a `/` is looked up in `PATH`. Empty for
    /// a remote server.
    public var command: [String]
    /// A remote server's Streamable HTTP endpoint (`http://` or `https://`); nil for a program.
    public var url: String?
    /// Header fields sent to a remote server with every request. A value may name variables of
    /// magi's environment as `${NAME}` (or `${NAME:-default}`), expanded when magi connects
    /// (``resolvedHeaders(environment:)``), so tokens need not be written in the configuration.
    public var headers: [String: String]
    /// Variables set for the server (its `env` table), on top of the few ``ChildEnvironment``
    /// passes on from magi's; nothing else of magi's environment reaches it.
    public var environment: [String: String]?
    /// The server's working folder (magi's when nil).
    public var currentDirectory: String?
    /// The longest the server may take to start and to list its tools (per request).
    public var startupTimeout: Duration
    /// The longest one tool call may take.
    public var callTimeout: Duration

    public init(name: String, command: [String], url: String? = nil, headers: [String: String] = [:],
                environment: [String: String]? = nil, currentDirectory: String? = nil,
                startupTimeout: Duration = .seconds(10), callTimeout: Duration = .seconds(60)) {
        self.name = name
        self.command = command
        self.url = url
        self.headers = headers
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
    /// Per server: `command` (required for a program), `args`, `env` (the variables the server gets
    /// besides ``ChildEnvironment/allowedNames``), `cwd`; or `url` (a remote server over
    /// Streamable HTTP) and `headers` (values may hold `${NAME}`); `type` may say `stdio` or
    /// `http`. And magi's `timeout_seconds` (a tool call's limit, default 60) and
    /// `startup_timeout_seconds` (how long it may take to answer `initialize` and list its tools,
    /// default 10). `"servers"` is accepted for `"mcpServers"` (VS Code), and entries with
    /// `"disabled": true` are left out.
    ///
    /// ```json
    /// {"mcpServers": {"remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${MCP_TOKEN}"}}}}
    /// ```
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
        let remote = entry["url"] != nil
        if let type = entry["type"] {
            let known: [String: Bool] = ["stdio": false, "http": true, "streamable-http": true, "streamableHttp": true]
            guard let string = type.string, let isRemote = known[string] else {
                throw bad("\"type\" \(type.compactText) is not supported (\"stdio\" with \"command\", or \"http\" with \"url\")")
            }
            guard isRemote == remote else { throw bad(isRemote ? "\"type\" \"\(string)\" needs a \"url\"" : "\"type\" \"stdio\" needs a \"command\", not a \"url\"") }
        }
        if remote { return try remoteServer(named: name, entry) }
        guard let command = entry["command"]?.string, !command.isEmpty else { throw bad("\"command\" must be a non-empty string") }
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
        try readTimeouts(of: entry, into: &config, bad)
        return config
    }

    private static func remoteServer(named name: String, _ entry: JSONValue) throws(MCPError) -> MCPServerConfig {
        func bad(_ reason: String) -> MCPError { .invalidConfiguration("server '\(name)': \(reason)") }
        guard let url = entry["url"]?.string, let scheme = URL(string: url)?.scheme?.lowercased(), scheme == "http" || scheme == "https",
              URL(string: url)?.host?.isEmpty == false else {
            throw bad("\"url\" must be an http:// or https:// URL")
        }
        if entry["command"] != nil { throw bad("give \"command\" or \"url\", not both") }
        var headers: [String: String] = [:]
        if let fields = entry["headers"] {
            guard case .object(let members) = fields, members.allSatisfy({ $0.value.string != nil }) else {
                throw bad("\"headers\" must be an object of strings")
            }
            for (field, value) in members {
                guard !field.isEmpty, field.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                    throw bad("\"headers\" has a field name that is not a token: \(MCPClient.oneLine(field))")
                }
                guard !Self.hasLineBreak(value.string!) else {
                    throw bad("the value of header '\(field)' has a line break")
                }
                headers[field] = value.string!
            }
        }
        var config = MCPServerConfig(name: name, command: [], url: url, headers: headers)
        try readTimeouts(of: entry, into: &config, bad)
        return config
    }

    private static func readTimeouts(of entry: JSONValue, into config: inout MCPServerConfig, _ bad: (String) -> MCPError) throws(MCPError) {
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
    }

    /// Whether `text` has a CR, LF or NUL, which would end a header line (by scalar: "\r\n" is one `Character`).
    private static func hasLineBreak(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
    }

    /// ``headers`` with each `${NAME}` replaced by the variable `NAME` of `environment`, and each
    /// `${NAME:-default}` by it or, when it is unset or empty, by `default`.
    ///
    /// - Throws: ``MCPError/invalidConfiguration(_:)`` naming a variable that is not set, or a
    ///   value whose expansion has a line break.
    public func resolvedHeaders(environment: [String: String] = ProcessInfo.processInfo.environment) throws(MCPError) -> [(name: String, value: String)] {
        var resolved: [(name: String, value: String)] = []
        for (field, template) in headers.sorted(by: { $0.key < $1.key }) {
            var value = ""
            var rest = Substring(template)
            while let start = rest.range(of: "${") {
                value += rest[..<start.lowerBound]
                guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                    throw .invalidConfiguration("server '\(name)': header '\(field)' has a \"${\" without its \"}\"")
                }
                let reference = rest[start.upperBound..<end]
                let (variable, fallback) = reference.range(of: ":-").map { (String(reference[..<$0.lowerBound]), String(reference[$0.upperBound...])) }
                    ?? (String(reference), nil)
                if let set = environment[variable], !(set.isEmpty && fallback != nil) {
                    value += set
                } else if let fallback {
                    value += fallback
                } else {
                    throw .invalidConfiguration("server '\(name)': header '\(field)' uses ${\(variable)}, which is not set")
                }
                rest = rest[rest.index(after: end)...]
            }
            value += rest
            guard !Self.hasLineBreak(value) else {
                throw .invalidConfiguration("server '\(name)': header '\(field)' has a line break once expanded")
            }
            resolved.append((field, value))
        }
        return resolved
    }
}
