import ArgumentParser
import Foundation
import MagiJSON
import MagiTools

/// `magi tool NAME [JSON]`: runs one tool directly, without a model, as `/tool` does in the REPL:
/// once on the JSON arguments given, else on each line of standard input in turn (one tool, so the
/// `python` interpreter keeps its state from line to line). Each result is one JSON line:
/// `{"result": text}` or `{"error": message}`.
struct CallTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi tool",
        abstract: "Run a tool on JSON arguments (given, or one object per line of standard input) and print each result as JSON.")

    @OptionGroup var sources: ToolSources
    @Argument(help: "The tool's name (magi tools lists them).") var name: String
    @Argument(help: "The arguments as a JSON object; without it, one object per line of standard input.") var arguments: String?

    func validate() throws {
        try MagiConfig.validate()
    }

    func run() async throws {
        let catalog = try await sources.catalog().map(\.tool)
        defer {
            catalog.compactMap { $0 as? any StatefulTool }.forEach { $0.end() }
            var clients: [ObjectIdentifier: MCPClient] = [:]
            for case let tool as MCPTool in catalog { clients[ObjectIdentifier(tool.client)] = tool.client }
            clients.values.forEach { $0.shutDown() }
        }
        guard let tool = catalog.first(where: { $0.name == name }) else {
            throw CLIError("no tool named '\(name)'; the tools are: " + catalog.map(\.name).joined(separator: ", "))
        }
        let runner = ToolRunner(registry: ToolRegistry([tool]))
        func call(_ arguments: String) async {
            let entry: JSONValue = switch await runner.run(name, arguments: arguments) {
            case .success(let text): .object([("result", .string(text))])
            case .failure(let error): .object([("error", .string("\(error)"))])
            }
            StandardOutput.write(entry.compactText + "\n")
        }
        if let arguments { return await call(arguments) }
        while let line = readLine() {
            if !line.trimmingCharacters(in: .whitespaces).isEmpty { await call(line) }
        }
    }
}
