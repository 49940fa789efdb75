import ArgumentParser
import Foundation
import MagiEngine
import MagiJSON

/// `magi config`: every effective setting, its value and where it came from — a flag (the chat's
/// flags are accepted here to show their effect), an environment variable, a line of config.toml,
/// or the default.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi config",
        abstract: "Print the effective settings and where each comes from.",
        discussion: """
            A setting comes from its flag, else its environment variable (MAGI_MODEL, MAGI_CONTEXT, MAGI_SYSTEM, \
            MAGI_TEMPERATURE, MAGI_THINK, MAGI_SEARXNG_URL), else the configuration file ($MAGI_CONFIG, else \
            ${XDG_CONFIG_HOME:-~/.config}/magi/config.toml; docs/config.md describes it), else its default.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup(title: "Tools") var toolOptions: ToolOptions
    @OptionGroup(title: "Display") var display: DisplayOptions
    @Option(name: .long, help: "System prompt, as for the chat.")
    var system: String?
    @Flag(name: .customLong("show-thinking"), help: "Show the model's reasoning, as for the chat.")
    var showThinking = false
    @Flag(name: .long, help: "Print one JSON object: {\"path\", \"exists\", \"settings\": {NAME: {\"value\", \"source\"}}}.")
    var json = false
    @Flag(name: .long, help: "Print only the path of the configuration file.")
    var path = false

    /// One setting: its value (null when the default depends on the model) and, for people, how to show it.
    private struct Row {
        let name: String
        let value: JSONValue
        let text: String
        let source: SettingSource
    }

    func run() async throws {
        let config = try MagiConfig.current
        if path {
            StandardOutput.write(config.path + "\n")
            return
        }
        let rows = self.rows(config)
        if json {
            let settings = JSONValue.object(rows.map { ($0.name, .object([("value", $0.value), ("source", .string($0.source.description))])) })
            StandardOutput.write(JSONValue.object([("path", .string(config.path)), ("exists", .bool(config.fileExists)), ("settings", settings)]).pythonText + "\n")
            return
        }
        var out = "# " + config.path + (config.fileExists ? "" : " (no such file)") + "\n"
        let nameWidth = rows.map(\.name.count).max() ?? 0
        let valueWidth = min(rows.map(\.text.count).max() ?? 0, 48)
        for row in rows {
            out += row.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                + row.text.padding(toLength: max(valueWidth, row.text.count), withPad: " ", startingAt: 0) + "  " + row.source.description + "\n"
        }
        StandardOutput.write(out)
    }

    private func rows(_ config: MagiConfig) -> [Row] {
        var rows: [Row] = []
        func add<T>(_ name: String, _ setting: Sourced<T>?, otherwise description: String, json: (T) -> JSONValue) {
            if let setting {
                let value = json(setting.value)
                rows.append(Row(name: name, value: value, text: value.pythonText, source: setting.source))
            } else {
                rows.append(Row(name: name, value: .null, text: "(\(description))", source: .default))
            }
        }
        func string(_ s: String) -> JSONValue { .string(s) }
        func strings(_ a: [String]) -> JSONValue { .array(a.map(JSONValue.string)) }
        func number<N: LosslessStringConvertible>(_ n: N) -> JSONValue { .number(n.description) }

        let model = modelOptions.modelChoice
        let modelPath = model.map { config.modelPath($0.value) } ?? DefaultModel.path
        let alias = model.flatMap { config.aliases[$0.value] != nil ? $0.value : nil }
        rows.append(Row(name: "model", value: .string(modelPath),
                        text: JSONValue.quoted(modelPath) + (alias.map { " (alias \($0))" } ?? ""), source: model?.source ?? .default))
        add("context", modelOptions.context, otherwise: "the model's, at most its card's advice (or 4096) and what memory holds", json: number)
        add("system", config.system.overridden(by: system, named: "--system"), otherwise: "the chat template's", json: string)
        let think = config.think.overridden(by: showThinking ? .shown : nil, named: "--show-thinking")
        add("think", think, otherwise: "", json: { .string($0.rawValue) })
        func line(_ source: SettingSource) -> Int { if case let .file(_, line) = source { return line } else { return 0 } }
        for (name, path) in config.aliases.sorted(by: { line($0.value.source) < line($1.value.source) }) {
            add("aliases." + name, path, otherwise: "", json: string)
        }

        let s = sampling.settings
        let greedy = SamplingParameters.greedy
        let fallback = "the model's recommendation, else"
        for setting in SamplingSetting.allCases {
            add("sampling." + setting.name, s.values[setting], otherwise: "\(fallback) \(setting.formatted(in: greedy))", json: { .number(SamplingSetting.format($0)) })
        }
        add("sampling.seed", s.seed, otherwise: "random", json: number)
        add("sampling.max_tokens", s.maxTokens, otherwise: "until the model stops or the window is full", json: number)

        let t = toolOptions.settings
        add("tools.enabled", t.enabled, otherwise: "none", json: strings)
        add("tools.allow", t.allow, otherwise: "none", json: strings)
        add("tools.search_provider", t.searchProvider ?? Sourced("duckduckgo", .default), otherwise: "", json: string)
        add("tools.searxng_url", t.searXNGURL, otherwise: "none", json: string)
        add("tools.mcp_config", t.mcpConfigs, otherwise: "\(ToolSources.standardMCPConfig) when it exists", json: strings)
        for server in config.mcpServers {
            add("mcp_servers." + server.value.name, server, otherwise: "", json: { .string($0.url ?? $0.command.joined(separator: " ")) })
        }

        let d = display.settings
        add("display.color", d.color ?? Sourced(.auto, .default), otherwise: "", json: { .string($0.rawValue) })
        add("display.theme", d.theme ?? Sourced("dark", .default), otherwise: "", json: string)
        return rows
    }
}
