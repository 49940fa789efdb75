import Foundation

/// A tool of an MCP server, offered to the model like any other ``Tool``. Its calls run foreign
/// code, so they need permission (``ToolAccess/code``).
///
/// Its name is the server's name for it, made of letters, digits, `_` and `-`; ``prefixed()``
/// gives the same tool named `server__tool`, for when two servers (or a server and magi) offer
/// tools of the same name.
public struct MCPTool: Tool {
    public let name: String
    public let description: String
    public let parametersSchema: String
    public var access: ToolAccess { .code }
    public var timeout: Duration { client.config.callTimeout }
    /// The server's own name for the tool.
    public let remoteName: String
    /// The client of the tool's server.
    public let client: MCPClient

    /// What a server's tools/list says about one tool.
    struct Descriptor: Sendable {
        var name: String
        var remoteName: String
        var description: String
        var schema: String

        /// Why a tool is skipped, for the warnings.
        struct Problem: Error { var reason: String }

        /// The tool described by `item`, or why it is skipped.
        static func parse(_ item: JSONValue) -> Result<Descriptor, Problem> {
            func skip(_ reason: String) -> Result<Descriptor, Problem> { .failure(Problem(reason: reason)) }
            guard case .object = item else { return skip("skipped a tool that is not an object: \(MCPClient.oneLine(item.compactText))") }
            guard let remoteName = item["name"]?.string, !remoteName.isEmpty else {
                return skip("skipped a tool without a \"name\": \(MCPClient.oneLine(item.compactText))")
            }
            guard let schema = item["inputSchema"], case .object = schema else {
                return skip("skipped tool '\(MCPClient.oneLine(remoteName))': its \"inputSchema\" is not a JSON Schema object")
            }
            if let description = item["description"], description.string == nil {
                return skip("skipped tool '\(MCPClient.oneLine(remoteName))': its \"description\" is not a string")
            }
            let description = item["description"]?.string ?? item["title"]?.string ?? item["annotations"]?["title"]?.string ?? ""
            return .success(Descriptor(name: MCPTool.safeName(remoteName), remoteName: remoteName, description: description,
                                       schema: schema.pythonText))
        }
    }

    init(client: MCPClient, descriptor: Descriptor) {
        self.client = client
        name = descriptor.name
        remoteName = descriptor.remoteName
        description = descriptor.description
        parametersSchema = descriptor.schema
    }

    /// The same tool named `server__tool` (the server's name from its configuration, with
    /// characters other than letters, digits, `_` and `-` made `_`).
    public func prefixed() -> MCPTool {
        let descriptor = Descriptor(name: Self.safeName(client.config.name) + "__" + name, remoteName: remoteName,
                                    description: description, schema: parametersSchema)
        return MCPTool(client: client, descriptor: descriptor)
    }

    /// Calls the tool on the server: `arguments` must be a JSON object (empty text counts as `{}`).
    public func run(arguments: String) async throws -> String {
        let trimmed = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let value = try JSONValue(parsingToolJSON: trimmed.isEmpty ? "{}" : trimmed)
        guard case .object = value else { throw ToolError.invalidArguments("the arguments must be a JSON object") }
        return try await client.call(remoteName, arguments: value)
    }

    /// `text` with every character other than ASCII letters, digits, `_` and `-` made `_`.
    static func safeName(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" })
    }
}
