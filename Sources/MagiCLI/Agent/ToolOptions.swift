import ArgumentParser
import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import MagiTools

/// The command-line flags of tool use: which tools are offered, who allows their calls, and the
/// loop's limits. The tools and the allowed ones fall back on config.toml's `[tools]` (``MagiConfig``).
struct ToolOptions: ParsableArguments {
    @Option(name: .customLong("tools"), help: "Tools to offer the model, comma-separated, or 'all' (built-in: \(BuiltinTools.names.joined(separator: ", ")); plugins by their names; default: config.toml's tools.enabled).")
    var toolsFlag: String?
    @Flag(name: [.customShort("y"), .customLong("yes")], help: "Run every tool call without asking (scripts).")
    var allowAll = false
    @Option(name: .customLong("allow-tool"), help: "Run this tool's calls without asking; repeatable (default: config.toml's tools.allow).")
    var allowFlags: [String] = []
    @Option(name: .customLong("max-tool-steps"), help: "The most replies in one turn with tools.")
    var maxSteps = 8
    @Option(name: .customLong("tool-result-tokens"), help: "Trim each tool result to this many tokens.")
    var resultTokens = 2000
    @Option(name: .customLong("tool-choice"), help: "auto: the model decides; required: its first reply in a turn must call a tool (ChatML models).")
    var toolChoice: ToolChoice = .auto
    @OptionGroup var sources: ToolSources

    func validate() throws {
        if maxSteps < 1 { throw ValidationError("--max-tool-steps must be at least 1") }
        if resultTokens < 16 { throw ValidationError("--tool-result-tokens must be at least 16") }
    }

    /// Checks what depends on the configuration file; the command's `validate()` calls it once
    /// the file has been read (``MagiConfig/validate()``).
    func validateSettings() throws {
        if toolChoice == .required && settings.enabled == nil { throw ValidationError("--tool-choice required needs --tools") }
    }

    /// The tool settings, each with its source: `--tools` and `--allow-tool` over config.toml's
    /// `enabled` and `allow`, and those of ``ToolSources/settings``.
    var settings: MagiConfig.ToolSettings {
        var s = sources.settings
        let names = toolsFlag.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        s.enabled = s.enabled.overridden(by: names, named: "--tools")
        s.allow = s.allow.overridden(by: allowFlags.isEmpty ? nil : allowFlags, named: "--allow-tool")
        return s
    }

    /// The tools named by `--tools` (or config.toml) among those of ``ToolSources/catalog()``.
    func registry() async throws -> ToolRegistry {
        guard let enabled = settings.enabled else { return ToolRegistry() }
        let available = try await sources.catalog().map(\.tool)
        if enabled.value == ["all"] { return ToolRegistry(available) }
        var registry = ToolRegistry()
        for name in enabled.value {
            guard let tool = available.first(where: { $0.name == name }) else {
                throw CLIError("\(enabled.source): no tool named '\(name)'; the tools are: " + available.map(\.name).joined(separator: ", "))
            }
            try? registry.add(tool)
        }
        return registry
    }

    /// The tools, permissions and limits for a session; `ask` asks the user about a call (nil in a pipe).
    func setup(registry: ToolRegistry, countTokens: @escaping @Sendable (String) -> Int,
               ask: (@Sendable (any Tool, String) async -> ToolPermissions.Answer)?) -> ToolSetup {
        ToolSetup(runner: ToolRunner(registry: registry),
                  permissions: ToolPermissions(allowAll: allowAll, allowList: Set(settings.allow?.value ?? []), ask: ask),
                  trimmer: ToolResultTrimmer(maxTokens: resultTokens, countTokens: countTokens), maxSteps: maxSteps,
                  requiresCall: toolChoice == .required)
    }
}

/// Where tools come from: the web search provider, plugins, and MCP servers. Each flag falls back on
/// config.toml's `[tools]` (``MagiConfig``).
struct ToolSources: ParsableArguments {
    @Option(name: .customLong("search-provider"), help: "web_search provider: duckduckgo (the default), searxng (needs --searxng-url) or brave (needs BRAVE_API_KEY); default: config.toml's tools.search_provider. MAGI_DUCKDUCKGO_URL and MAGI_BRAVE_URL replace those providers' addresses (a mirror, a proxy, a test server).")
    var searchProviderFlag: String?
    @Option(name: .customLong("searxng-url"), help: "The SearXNG instance for web_search (default: $MAGI_SEARXNG_URL, else config.toml's tools.searxng_url).")
    var searXNGURLFlag: String?
    @Option(name: .customLong("mcp-config"), help: "MCP servers whose tools join the others: a JSON file shaped like Claude Desktop's {\"mcpServers\": …}; repeatable (default: config.toml's tools.mcp_config, else ${XDG_CONFIG_HOME:-~/.config}/magi/mcp.json when it exists).")
    var mcpConfigFlags: [String] = []

    /// The search provider, SearXNG instance and MCP configuration files, each with its source:
    /// its flag, else MAGI_SEARXNG_URL (the instance), else config.toml.
    var settings: MagiConfig.ToolSettings {
        var s = MagiConfig.currentOrEmpty.tools
        s.searchProvider = s.searchProvider.overridden(by: searchProviderFlag, named: "--search-provider")
        s.searXNGURL = s.searXNGURL.overridden(by: searXNGURLFlag, named: "--searxng-url")
        s.mcpConfigs = s.mcpConfigs.overridden(by: mcpConfigFlags.isEmpty ? nil : mcpConfigFlags, named: "--mcp-config")
        return s
    }

    /// The web search provider the settings name (duckduckgo when none does).
    func provider(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SearchProvider {
        let s = settings
        let name = s.searchProvider ?? Sourced("duckduckgo", .default)
        switch name.value.lowercased() {
        case "duckduckgo", "ddg":
            return .duckDuckGo(base: Self.base(environment["MAGI_DUCKDUCKGO_URL"]) ?? "https://html.duckduckgo.com")
        case "searxng", "searx":
            guard let url = s.searXNGURL?.value else {
                throw CLIError("\(name.source): searxng needs --searxng-url URL, MAGI_SEARXNG_URL or tools.searxng_url in config.toml")
            }
            return .searXNG(base: url.hasSuffix("/") ? String(url.dropLast()) : url)
        case "brave":
            guard let key = environment["BRAVE_API_KEY"], !key.isEmpty else {
                throw CLIError("\(name.source): brave needs the API key in BRAVE_API_KEY")
            }
            return .brave(apiKey: key, base: Self.base(environment["MAGI_BRAVE_URL"]) ?? "https://api.search.brave.com")
        default:
            throw CLIError("\(name.source): unknown provider '\(name.value)'; the providers are: duckduckgo, searxng, brave")
        }
    }

    /// A provider address from the environment, without a trailing `/` (nil when unset or empty).
    private static func base(_ url: String?) -> String? {
        guard let url, !url.isEmpty else { return nil }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// Every tool there is, with where it comes from: the built-in ones, the plugins found in
    /// ``PluginFolders/standard`` and the tools of the MCP servers configured (the servers started
    /// now, side by side). A broken plugin or a server that fails to start is reported on stderr and skipped;
    /// an MCP tool named like an earlier tool is called `server__tool`.
    func catalog() async throws -> [(tool: any Tool, source: String)] {
        let builtins = try BuiltinTools.all(search: provider())
        let plugins = PluginLoader.discover(in: PluginFolders.standard, reserved: Set(builtins.map(\.name)))
        for problem in plugins.problems { StandardError.write("magi: plugin skipped: \(problem)\n") }
        var entries: [(tool: any Tool, source: String)] = builtins.map { ($0, "built-in") } + plugins.tools.map { ($0, "plugin " + $0.folder) }
        // The servers start side by side; their tools join in the order the configuration lists them.
        let servers = try mcpServers()
        let connections = await withTaskGroup(of: (Int, Result<MCPClient, any Error>).self) { group in
            for (index, server) in servers.enumerated() {
                group.addTask {
                    do {
                        // Awaited on its own line: Swift 6.3's release builds lose `index` when
                        // `(index, .success(try await …))` suspends inside the tuple.
                        let client = try await MCPClient.connect(server)
                        return (index, .success(client))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var done = [Result<MCPClient, any Error>?](repeating: nil, count: servers.count)
            for await (index, connection) in group { done[index] = connection }
            return done.compactMap { $0 }
        }
        for (server, connection) in zip(servers, connections) {
            let client: MCPClient
            switch connection {
            case .success(let connected): client = connected
            case .failure(let error):
                StandardError.write("magi: MCP server skipped: \(error)\n")
                continue
            }
            for warning in client.warnings { StandardError.write("magi: MCP server '\(server.name)': \(warning)\n") }
            for tool in client.tools() {
                let taken = entries.contains { $0.tool.name == tool.name }
                entries.append((taken ? tool.prefixed() : tool, "MCP server " + server.name))
            }
        }
        return entries
    }

    /// The MCP servers of config.toml's `[mcp_servers.NAME]` tables, then of the `--mcp-config`
    /// files or config.toml's `tools.mcp_config` (an unreadable or invalid one is an error), else of
    /// the standard file when it exists (a problem with it is reported and skipped).
    func mcpServers() throws -> [MCPServerConfig] {
        var servers = MagiConfig.currentOrEmpty.mcpServers.map(\.value)
        guard let mcpConfigs = settings.mcpConfigs?.value else {
            guard FileManager.default.fileExists(atPath: Self.standardMCPConfig) else { return servers }
            do {
                return try servers + MCPServerConfig.servers(file: Self.standardMCPConfig)
            } catch {
                StandardError.write("magi: MCP servers skipped: \(error)\n")
                return servers
            }
        }
        for path in mcpConfigs {
            do { servers += try MCPServerConfig.servers(file: path) } catch { throw CLIError("\(error)") }
        }
        return servers
    }

    /// `${XDG_CONFIG_HOME:-~/.config}/magi/mcp.json`.
    static var standardMCPConfig: String { ConfigFolder.path + "/mcp.json" }
}

/// What every turn of a session shares about tools: the "always" answers live in `permissions`.
struct ToolSetup: Sendable {
    let runner: ToolRunner
    let permissions: ToolPermissions
    let trimmer: ToolResultTrimmer?
    let maxSteps: Int
    /// The first reply of each turn must be a tool call (`--tool-choice required`).
    var requiresCall = false

    /// No tools: one plain reply per turn.
    static let none = ToolSetup(runner: ToolRunner(registry: ToolRegistry()), permissions: ToolPermissions(), trimmer: nil, maxSteps: 1)

    /// The loop of one turn generated by `model`.
    func loop(model: any AgentModel) -> AgentLoop {
        AgentLoop(model: model, runner: runner, permissions: permissions, trimmer: trimmer, maxSteps: maxSteps)
    }
}

/// The tools magi ships.
enum BuiltinTools {
    static func all(search: SearchProvider = .duckDuckGo()) -> [any Tool] {
        [WebSearchTool(provider: search), FetchURLTool(), PythonSandboxTool(showImage: InlineImage.show)]
    }
    static var names: [String] { all().map(\.name) }
}

/// Whether the model must call a tool.
enum ToolChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, required
}

/// Where plugins are looked for: the `plugins` folder shipped beside magi (found in the folders
/// above the executable, as in a source checkout, or in `../share/magi/plugins`), then
/// `${XDG_CONFIG_HOME:-~/.config}/magi/plugins`.
enum PluginFolders {
    static var standard: [String] {
        var folders: [String] = []
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = folder.appendingPathComponent("../share/magi/plugins").standardized.path
        if holdsPlugins(installed) { folders.append(installed) }
        for _ in 0..<4 where folders.isEmpty {
            folder = folder.deletingLastPathComponent()
            let candidate = folder.appendingPathComponent("plugins").path
            if holdsPlugins(candidate) { folders.append(candidate) }
        }
        return folders + [ConfigFolder.path + "/plugins"]
    }

    /// True when some folder in `path` has a `plugin.json` (SwiftPM's own `plugins` folders have none).
    private static func holdsPlugins(_ path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .contains { FileManager.default.fileExists(atPath: path + "/" + $0 + "/plugin.json") }
    }
}

/// magi's configuration folder: `${XDG_CONFIG_HOME:-~/.config}/magi` (a relative XDG_CONFIG_HOME is ignored).
enum ConfigFolder {
    static var path: String { path(environment: ProcessInfo.processInfo.environment) }

    static func path(environment: [String: String]) -> String {
        UserFolders(environment: environment).configHome + "/magi"
    }
}

/// Asks on the terminal whether a call may run: `y` yes, `n` no (the default), `a` always for this tool.
enum TerminalPermissionPrompt {
    @Sendable static func ask(_ tool: any Tool, arguments: String) async -> ToolPermissions.Answer {
        StandardError.write("allow \(tool.name) (\(tool.access.summary))? [y]es / [n]o / [a]lways for this tool: ")
        guard let line = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() else { return .no }
        switch line {
        case "y", "yes": return .yes
        case "a", "always": return .always
        default: return .no
        }
    }
}
