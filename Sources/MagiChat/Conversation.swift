/// What a chat format renders: the messages so far and the tools the model may call.
public struct Conversation: Sendable, Codable, Equatable {
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]

    public init(messages: [ChatMessage], tools: [ToolDefinition] = []) {
        self.messages = messages
        self.tools = tools
    }

    private enum CodingKeys: String, CodingKey { case messages, tools }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decode([ChatMessage].self, forKey: .messages)
        tools = try c.decodeIfPresent([ToolDefinition].self, forKey: .tools) ?? []
    }
}
