import ArgumentParser
import Foundation
import MagiJSON
import MagiTools

/// `magi tools`: every tool `--tools` can offer — built-in, plugins, MCP servers' — with where it
/// comes from and what its calls reach.
struct ListTools: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi tools",
        abstract: "List the tools --tools can name: built-in ones, plugins and MCP servers' tools.")

    @OptionGroup var sources: ToolSources
    @Flag(name: .long, help: "One JSON object per tool: name, source, access, description and parameters.")
    var json = false

    func validate() throws {
        try MagiConfig.validate()
    }

    func run() async throws {
        let catalog = try await sources.catalog()
        if json {
            for (tool, source) in catalog {
                let parameters = (try? JSONValue(parsing: tool.parametersSchema)) ?? .object([])
                let entry: JSONValue = .object([
                    ("name", .string(tool.name)), ("source", .string(source)),
                    ("access", .array(tool.access.summary.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })),
                    ("description", .string(tool.description)), ("parameters", parameters),
                ])
                JSONEvents.emit(entry)
            }
            return
        }
        let width = catalog.map(\.tool.name.count).max() ?? 0
        for (tool, source) in catalog {
            let summary = tool.description.split(separator: "\n").first.map(String.init) ?? ""
            let access = tool.access.isEmpty ? "" : " [\(tool.access.summary)]"
            // A description is the server's or the plugin's text: StandardOutput keeps it terminal-safe.
            StandardOutput.write(tool.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + summary + access + "  (" + source + ")\n")
        }
    }
}
