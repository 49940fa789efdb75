import Foundation
import MagiChat
import MagiEngine
import MagiJSON
import MagiRender
import MagiTools

/// Where an effective setting came from.
enum SettingSource: Equatable, Sendable, CustomStringConvertible {
    /// A command-line flag, by the name it was given as (`--temp`).
    case flag(String)
    /// An environment variable (`MAGI_MODEL`).
    case environment(String)
    /// A line of the configuration file, named by its file name (`config.toml:7`).
    case file(String, line: Int)
    case `default`

    var description: String {
        switch self {
        case .flag(let name), .environment(let name): return name
        case let .file(name, line): return "\(name):\(line)"
        case .default: return "default"
        }
    }
}

/// A setting's value and where it came from.
struct Sourced<Value> {
    var value: Value
    var source: SettingSource

    init(_ value: Value, _ source: SettingSource) {
        self.value = value
        self.source = source
    }

    /// `flag` when the flag was given, else this setting.
    func overridden(by flag: Value?, named name: String) -> Sourced {
        flag.map { Sourced($0, .flag(name)) } ?? self
    }
}

extension Sourced: Sendable where Value: Sendable {}
extension Sourced: Equatable where Value: Equatable {}

extension Optional {
    /// `flag` when the flag was given, else this setting (nil when neither is set).
    func overridden<Value>(by flag: Value?, named name: String) -> Sourced<Value>? where Wrapped == Sourced<Value> {
        flag.map { Sourced($0, .flag(name)) } ?? self
    }
}

/// magi's settings from its configuration file and environment, below the flags.
///
/// The file is `$MAGI_CONFIG` when that is set, else `${XDG_CONFIG_HOME:-~/.config}/magi/config.toml`
/// (a relative XDG_CONFIG_HOME is ignored); it need not exist. Its shape (docs/config.md), every key
/// optional:
///
/// ```toml
/// model = "smollm"            # a path or an alias
/// context = 4096              # tokens
/// system = "You are terse."
/// think = "hidden"            # hidden | shown | off
/// [aliases]                   # names for -m, MAGI_MODEL and model
/// smollm = "~/.cache/magi/models/SmolLM2-135M-Instruct.Q4_1.gguf"
/// [sampling]                  # temperature, top_p, top_k, min_p, repeat_penalty, repeat_last_n,
/// seed = 42                   # presence_penalty, frequency_penalty, seed, max_tokens
/// [tools]
/// enabled = ["web_search"]    # --tools
/// allow = ["web_search"]      # --allow-tool
/// search_provider = "duckduckgo"
/// searxng_url = "http://localhost:8888"
/// mcp_config = "~/.config/magi/mcp.json"   # or a list
/// [mcp_servers.files]         # MCP servers (stdio), as in Claude Desktop's mcpServers
/// command = "npx"
/// args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
/// env = { KEY = "value" }     # also cwd, timeout_seconds (a call's limit)
/// [mcp_servers.remote]        # or a remote server over Streamable HTTP
/// url = "https://mcp.example.com/mcp"
/// headers = { Authorization = "Bearer ${MCP_TOKEN}" }   # ${NAME}: from magi's environment
/// [remotes.mistral]          # OpenAI-compatible servers for --remote NAME
/// url = "https://api.mistral.ai/v1"
/// model = "magistral-medium-latest"
/// api_key_env = "MISTRAL_API_KEY"   # the variable holding the key (never the key itself)
/// context = 40000
/// [display]
/// color = "auto"              # auto | always | never
/// theme = "dark"              # dark | light
/// ```
///
/// `~` expands in paths. The environment overrides the file: `MAGI_MODEL`, `MAGI_CONTEXT`,
/// `MAGI_SYSTEM`, `MAGI_TEMPERATURE`, `MAGI_THINK`, `MAGI_SEARXNG_URL` (empty ones are ignored);
/// flags override both, in the option groups. An unknown key, a value of the wrong type or out of
/// range, a TOML error or a bad variable is a ``CLIError`` of one line naming the file and line.
struct MagiConfig: Sendable {
    /// The configuration file, whether or not it exists.
    let path: String
    let fileExists: Bool
    /// A model path or an alias.
    var model: Sourced<String>?
    /// Model paths by alias, `~` expanded.
    var aliases: [String: Sourced<String>] = [:]
    /// `[mcp_servers.NAME]`: MCP servers started when tools are offered, with where each is defined.
    var mcpServers: [Sourced<MCPServerConfig>] = []
    /// `[remotes.NAME]`: servers `--remote NAME` chats with.
    var remotes: [String: Sourced<RemoteProfile>] = [:]
    var context: Sourced<Int>?
    var system: Sourced<String>?
    var think = Sourced(ThinkDisplay.hidden, .default)
    var sampling = SamplingSettings()
    var tools = ToolSettings()
    var display = DisplaySettings()

    /// `[sampling]`; nil leaves the model's recommendation.
    struct SamplingSettings: Sendable {
        /// The parameters of ``SamplingSetting``'s table that are set.
        var values: [SamplingSetting: Sourced<Double>] = [:]
        var seed: Sourced<UInt64>?
        var maxTokens: Sourced<Int>?
    }

    /// `[tools]`.
    struct ToolSettings: Sendable {
        var enabled: Sourced<[String]>?
        var allow: Sourced<[String]>?
        var searchProvider: Sourced<String>?
        var searXNGURL: Sourced<String>?
        /// Paths, `~` expanded.
        var mcpConfigs: Sourced<[String]>?
    }

    /// `[display]`.
    struct DisplaySettings: Sendable {
        var color: Sourced<ColorMode>?
        var theme: Sourced<String>?
    }

    /// The names `search_provider` and `--search-provider` take.
    static let searchProviders = ["duckduckgo", "ddg", "searxng", "searx", "brave"]

    // MARK: The process's configuration

    private static let loaded = Result { try MagiConfig(environment: ProcessInfo.processInfo.environment) }

    /// This process's configuration, read on first use.
    ///
    /// - Throws: the ``CLIError`` that reading it gave, every time it is asked for.
    static var current: MagiConfig {
        get throws { try loaded.get() }
    }

    /// Reads ``current`` for a command's `validate()`, so a broken file stops the command before
    /// it runs. ArgumentParser prints a command's error as one line, but adds its usage to an
    /// option group's, so the option groups leave this to their command.
    ///
    /// - Throws: the ``CLIError`` that reading the configuration gave.
    static func validate() throws {
        _ = try current
    }

    /// ``current``, or no settings when it failed to load: for the option groups, whose
    /// command's `validate()` has already stopped with that error (``validate()``).
    static var currentOrEmpty: MagiConfig {
        (try? loaded.get()) ?? MagiConfig(path: "", fileExists: false)
    }

    /// The configuration file: `$MAGI_CONFIG`, else `${XDG_CONFIG_HOME:-~/.config}/magi/config.toml`.
    static func path(environment: [String: String]) -> String {
        if let path = environment["MAGI_CONFIG"], !path.isEmpty { return expandingTilde(path) }
        return ConfigFolder.path(environment: environment) + "/config.toml"
    }

    /// The model file `name` stands for: its alias's path, else `name` with `~` expanded.
    func modelPath(_ name: String) -> String {
        aliases[name]?.value ?? Self.expandingTilde(name)
    }

    static func expandingTilde(_ path: String) -> String { UserFolders().expandingTilde(path) }

    private init(path: String, fileExists: Bool) {
        self.path = path
        self.fileExists = fileExists
    }

    /// Reads the file `environment` points to (none is fine, unless `MAGI_CONFIG` names it), then
    /// the environment's variables over it.
    init(environment: [String: String]) throws {
        let path = Self.path(environment: environment)
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        if !exists, environment["MAGI_CONFIG"].map({ !$0.isEmpty }) == true {
            throw CLIError("MAGI_CONFIG: no such file \(path)")
        }
        self.init(path: path, fileExists: exists)
        if exists {
            guard !isFolder.boolValue, let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
            let document: TOMLDocument
            do {
                document = try TOMLParser.parse(data, file: path)
            } catch {
                throw CLIError("\(error)")
            }
            try read(ConfigReader(document: document, path: path))
        }
        try readEnvironment(environment)
    }

    private mutating func read(_ file: ConfigReader) throws {
        try file.checkKeys()
        model = try file.string(["model"])
        for name in file.keys(of: ["aliases"]) {
            aliases[name] = try file.string(["aliases", name], what: "a model path").map { Sourced(Self.expandingTilde($0.value), $0.source) }
        }
        for name in file.keys(of: ["mcp_servers"]) {
            mcpServers.append(try file.mcpServer(named: name))
        }
        for name in file.keys(of: ["remotes"]) {
            remotes[name] = try file.remote(named: name)
        }
        context = try file.integer(["context"], Self.contextRange)
        system = try file.string(["system"])
        if let think = try file.choice(["think"], ThinkDisplay.allCases.map(\.rawValue)) {
            self.think = Sourced(ThinkDisplay(rawValue: think.value)!, think.source)
        }

        let s = "sampling"
        for setting in SamplingSetting.allCases {
            sampling.values[setting] = try file.number([s, setting.name], setting.requirement, setting.accepts)
        }
        sampling.seed = try file.integer([s, "seed"], 0...Int.max).map { Sourced(UInt64($0.value), $0.source) }
        sampling.maxTokens = try file.integer([s, "max_tokens"], 0...Int.max)

        tools.enabled = try file.strings(["tools", "enabled"])
        tools.allow = try file.strings(["tools", "allow"])
        tools.searchProvider = try file.choice(["tools", "search_provider"], Self.searchProviders)
        tools.searXNGURL = try file.string(["tools", "searxng_url"])
        tools.mcpConfigs = try file.strings(["tools", "mcp_config"], orOne: true).map { Sourced($0.value.map(Self.expandingTilde), $0.source) }

        display.color = try file.choice(["display", "color"], ColorMode.allCases.map(\.rawValue)).map { Sourced(ColorMode(rawValue: $0.value)!, $0.source) }
        display.theme = try file.choice(["display", "theme"], ["dark", "light"])
    }

    private mutating func readEnvironment(_ environment: [String: String]) throws {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let value = variable("MAGI_MODEL") { model = Sourced(value, .environment("MAGI_MODEL")) }
        if let value = variable("MAGI_CONTEXT") {
            guard let n = Int(value), Self.contextRange.contains(n) else {
                throw CLIError("MAGI_CONTEXT must be a whole number between 8 and 1048576, not '\(value)'")
            }
            context = Sourced(n, .environment("MAGI_CONTEXT"))
        }
        if let value = variable("MAGI_SYSTEM") { system = Sourced(value, .environment("MAGI_SYSTEM")) }
        if let value = variable("MAGI_TEMPERATURE") {
            let setting = SamplingSetting.temperature
            guard let t = Double(value), setting.accepts(t) else { throw CLIError("MAGI_TEMPERATURE must be a number \(setting.requirement), not '\(value)'") }
            sampling.values[setting] = Sourced(t, .environment("MAGI_TEMPERATURE"))
        }
        if let value = variable("MAGI_THINK") {
            guard let mode = ThinkDisplay(rawValue: value) else { throw CLIError("MAGI_THINK must be hidden, shown or off, not '\(value)'") }
            think = Sourced(mode, .environment("MAGI_THINK"))
        }
        if let value = variable("MAGI_SEARXNG_URL") { tools.searXNGURL = Sourced(value, .environment("MAGI_SEARXNG_URL")) }
    }

    private static let contextRange = 8...(1 << 20)
}

/// Typed reads of the configuration file, each failure one line with the key's line number.
private struct ConfigReader {
    let document: TOMLDocument
    let path: String

    /// Every key magi knows, by table ("" for the top level); `aliases` takes any key.
    static let schema: [(table: String, keys: [String])] = [
        ("", ["model", "context", "system", "think", "aliases", "sampling", "tools", "mcp_servers", "remotes", "display"]),
        ("sampling", SamplingSetting.allCases.map(\.name) + ["seed", "max_tokens"]),
        ("tools", ["enabled", "allow", "search_provider", "searxng_url", "mcp_config"]),
        ("display", ["color", "theme"]),
    ]

    /// Rejects tables that are not tables and keys magi does not know (naming the nearest known one).
    func checkKeys() throws {
        for table in ["aliases", "sampling", "tools", "mcp_servers", "remotes", "display"] {
            guard let value = value([table]) else { continue }
            guard case .object = value else { throw fail([table], "\(table) must be a table ([\(table)]), not \(kind(of: value, at: [table]))") }
        }
        let known = Self.schema.flatMap { table in table.keys.map { table.table.isEmpty ? $0 : table.table + "." + $0 } }
        for (table, keys) in Self.schema {
            let prefix = table.isEmpty ? [] : [table]
            for key in self.keys(of: prefix) where !keys.contains(key) {
                let name = (prefix + [key]).joined(separator: ".")
                let hint = Self.nearest(to: name, among: known).map { " (did you mean \($0)?)" }
                    ?? (table.isEmpty ? "; the top-level keys are " : "; the keys of [\(table)] are ") + keys.joined(separator: ", ")
                throw fail(prefix + [key], "unknown key \(name)\(hint)")
            }
        }
    }

    /// `[remotes.NAME]`: `url` (required), `model`, `api_key_env` and `context`.
    func remote(named name: String) throws -> Sourced<RemoteProfile> {
        let key = ["remotes", name]
        guard let entry = value(key), case .object(let members) = entry else { throw fail(key, "remotes.\(name) must be a table ([remotes.\(name)])") }
        let known = ["url", "model", "api_key_env", "context"]
        if let unknown = members.first(where: { !known.contains($0.key) }) {
            throw fail(key + [unknown.key], "unknown key remotes.\(name).\(unknown.key); the keys of a remote are " + known.joined(separator: ", "))
        }
        guard let url = try string(key + ["url"], what: "a URL") else { throw fail(key, "remotes.\(name) needs a url") }
        let profile = RemoteProfile(url: url.value, model: try string(key + ["model"])?.value,
                                    apiKeyEnvironment: try string(key + ["api_key_env"], what: "a variable name")?.value,
                                    context: try integer(key + ["context"], 8...(1 << 20))?.value)
        return Sourced(profile, source(key))
    }

    /// `[mcp_servers.NAME]`, read as an entry of Claude Desktop's `mcpServers` is.
    func mcpServer(named name: String) throws -> Sourced<MCPServerConfig> {
        let key = ["mcp_servers", name]
        guard let entry = value(key), case .object = entry else { throw fail(key, "mcp_servers.\(name) must be a table ([mcp_servers.\(name)])") }
        do {
            let document = JSONValue.object([("mcpServers", .object([(name, entry)]))]).compactText
            guard let server = try MCPServerConfig.servers(parsing: document).first else { throw fail(key, "mcp_servers.\(name) is disabled") }
            var expanded = server
            if !server.command.isEmpty { expanded.command[0] = MagiConfig.expandingTilde(server.command[0]) }
            return Sourced(expanded, source(key))
        } catch let error as CLIError {
            throw error
        } catch {
            throw fail(key, "\(error)")
        }
    }

    func keys(of table: [String]) -> [String] {
        if case .object(let members)? = value(table) { return members.map(\.key) }
        return []
    }

    func string(_ key: [String], what: String = "a string") throws -> Sourced<String>? {
        guard let value = value(key) else { return nil }
        guard case .string(let s) = value, !document.dateTimes.contains(key) else { throw wrongType(key, value, what) }
        return Sourced(s, source(key))
    }

    func choice(_ key: [String], _ choices: [String]) throws -> Sourced<String>? {
        guard let setting = try string(key) else { return nil }
        guard choices.contains(setting.value) else {
            let list = choices.dropLast().joined(separator: ", ") + " or " + choices[choices.count - 1]
            throw fail(key, "\(name(key)) must be \(list), not \(JSONValue.quoted(setting.value))")
        }
        return setting
    }

    /// A finite integer or float that `isValid` accepts (`requirement` says which).
    func number(_ key: [String], _ requirement: String = "", _ isValid: (Double) -> Bool = { _ in true }) throws -> Sourced<Double>? {
        guard let value = value(key) else { return nil }
        guard case .number(let text) = value, let n = Double(text) else { throw wrongType(key, value, "a number") }
        guard n.isFinite else { throw fail(key, "\(name(key)) must be a finite number, not \(text)") }
        guard isValid(n) else { throw fail(key, "\(name(key)) must be \(requirement), not \(text)") }
        return Sourced(n, source(key))
    }

    func integer(_ key: [String], _ range: ClosedRange<Int>) throws -> Sourced<Int>? {
        guard let value = value(key) else { return nil }
        guard case .number(let text) = value, let n = Int(text) else { throw wrongType(key, value, "an integer") }
        guard range.contains(n) else {
            throw fail(key, "\(name(key)) must be " + (range.upperBound == Int.max ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)") + ", not \(n)")
        }
        return Sourced(n, source(key))
    }

    /// An array of strings, or (with `orOne`) a single string.
    func strings(_ key: [String], orOne: Bool = false) throws -> Sourced<[String]>? {
        guard let value = value(key) else { return nil }
        let what = orOne ? "a string or an array of strings" : "an array of strings"
        switch value {
        case .string(let s) where orOne && !document.dateTimes.contains(key):
            return Sourced([s], source(key))
        case .array(let items):
            var strings: [String] = []
            for (n, item) in items.enumerated() {
                guard case .string(let s) = item, !document.dateTimes.contains(key + [String(n)]) else {
                    throw fail(key, "\(name(key)) must be \(what), but element \(n + 1) is \(kind(of: item, at: key + [String(n)]))")
                }
                strings.append(s)
            }
            return Sourced(strings, source(key))
        default:
            throw wrongType(key, value, what)
        }
    }

    // MARK: Helpers

    private func value(_ key: [String]) -> JSONValue? {
        var value = document.value
        for part in key {
            guard let next = value[part] else { return nil }
            value = next
        }
        return value
    }

    private func name(_ key: [String]) -> String { key.joined(separator: ".") }

    /// The line of `key`, else of the nearest table around it.
    private func line(_ key: [String]) -> Int {
        var key = key
        while !key.isEmpty {
            if let line = document.lines[key] { return line }
            key.removeLast()
        }
        return 1
    }

    private func source(_ key: [String]) -> SettingSource { .file((path as NSString).lastPathComponent, line: line(key)) }

    private func fail(_ key: [String], _ message: String) -> CLIError { CLIError("\(path):\(line(key)): \(message)") }

    private func wrongType(_ key: [String], _ value: JSONValue, _ expected: String) -> CLIError {
        fail(key, "\(name(key)) must be \(expected), not \(kind(of: value, at: key))")
    }

    private func kind(of value: JSONValue, at key: [String]) -> String {
        switch value {
        case .string: return document.dateTimes.contains(key) ? "a date or time" : "a string"
        case .number(let text): return text.contains(where: { ".einf".contains($0) }) ? "a float" : "an integer"
        case .bool: return "a boolean"
        case .array: return "an array"
        case .object: return "a table"
        case .null: return "null"
        }
    }

    /// The known key closest to `name` by edit distance (comparing last parts too, so a
    /// misplaced `temperature` finds `sampling.temperature`), if it is close enough.
    /// A candidate whose length differs by more than the limit is skipped unmeasured (the distance is
    /// at least that difference), so a megabyte-long key costs no megabyte-by-key-length table.
    static func nearest(to name: String, among known: [String]) -> String? {
        let last = name.split(separator: ".").last.map(String.init) ?? name
        let limit = max(2, last.count / 3)
        let scored = known.compactMap { candidate -> (String, Int)? in
            let candidateLast = candidate.split(separator: ".").last.map(String.init) ?? candidate
            let wholeWithin = abs(name.count - candidate.count) <= limit, lastWithin = abs(last.count - candidateLast.count) <= limit
            guard wholeWithin || lastWithin else { return nil }
            return (candidate, min(wholeWithin ? distance(name, candidate) : .max, lastWithin ? distance(last, candidateLast) : .max))
        }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }

    /// Levenshtein distance.
    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                previous = row[j]
                row[j] = min(substitution, row[j] + 1, row[j - 1] + 1)
            }
        }
        return row[b.count]
    }
}

/// An OpenAI-compatible server named in config.toml (`[remotes.NAME]`).
struct RemoteProfile: Sendable, Equatable {
    var url: String
    var model: String?
    /// The environment variable holding the API key.
    var apiKeyEnvironment: String?
    var context: Int?
}
