/// A function the model may call: its name, what it does and its parameters as a JSON schema.
///
/// Decode tool definitions with ``JSONValue/init(parsing:)`` and ``init(json:)`` when the key order
/// of the schema matters (it does for prompts matching a reference byte for byte): Foundation's
/// `JSONDecoder` does not keep the order of object keys.
public struct ToolDefinition: Sendable, Codable, Equatable {
    public var name: String
    public var description: String
    /// A JSON schema, normally `{"type": "object", "properties": {…}, "required": […]}`.
    public var parameters: JSONValue

    public init(name: String, description: String = "", parameters: JSONValue = .object([])) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// A definition from `{"name", "description", "parameters"}`, keeping the schema's key order.
    ///
    /// - Throws: ``ChatFormatError/invalidToolDefinition(_:)`` when `name` is missing.
    public init(json: JSONValue) throws {
        guard case .string(let name)? = json["name"] else {
            throw ChatFormatError.invalidToolDefinition("a tool definition needs a string \"name\"")
        }
        var description = ""
        if case .string(let d)? = json["description"] { description = d }
        self.init(name: name, description: description, parameters: json["parameters"] ?? .object([]))
    }

    /// The OpenAI-style object chat templates list: `{"type": "function", "function": {name, description, parameters}}`.
    var functionObject: JSONValue {
        .object([(key: "type", value: .string("function")),
                 (key: "function", value: .object([(key: "name", value: .string(name)),
                                                   (key: "description", value: .string(description)),
                                                   (key: "parameters", value: parameters)]))])
    }
}
