/// A function call the assistant made.
public struct ToolCall: Sendable, Codable, Equatable {
    /// Identifies the call so its result can refer to it (Mistral formats want 9 letters or digits).
    public var id: String
    /// The function's name.
    public var name: String
    /// The arguments as JSON text, as the model wrote them.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
