@_exported import MagiJSON
/// Who wrote a message.
public enum ChatRole: String, Sendable, Codable {
    case system, user, assistant, tool
}

/// One message of a conversation: text, possibly with reasoning, tool calls or a tool result.
///
/// Encodes as the JSON chat formats use: `{"role", "content"}` where `content` is a string, or a
/// list of parts when it holds reasoning; `tool_calls` on assistant messages; `tool_call_id` and
/// `name` on tool results.
public struct ChatMessage: Sendable, Codable, Equatable {
    public var role: ChatRole
    /// The content in order: text and, for system and assistant messages, reasoning.
    public var parts: [ContentPart]
    /// Calls the assistant made at the end of this message (assistant messages only).
    public var toolCalls: [ToolCall]
    /// The call this message answers (tool messages only).
    public var toolCallID: String?
    /// The function whose result this is (tool messages only).
    public var toolName: String?

    public init(role: ChatRole, parts: [ContentPart], toolCalls: [ToolCall] = [], toolCallID: String? = nil,
                toolName: String? = nil) {
        self.role = role
        self.parts = parts
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.toolName = toolName
    }

    /// A message of plain text (no part when `content` is empty).
    public init(role: ChatRole, content: String) {
        self.init(role: role, parts: content.isEmpty ? [] : [.text(content)])
    }

    /// The text parts joined, without reasoning.
    public var content: String {
        parts.reduce(into: "") { if case .text(let t) = $1 { $0 += t } }
    }

    /// The reasoning parts joined, or nil when there are none.
    public var reasoning: String? {
        let thoughts = parts.compactMap { part -> String? in
            if case .thinking(let t, _) = part { return t }
            return nil
        }
        return thoughts.isEmpty ? nil : thoughts.joined()
    }

    /// True when some part is reasoning.
    public var hasReasoning: Bool { reasoning != nil }

    /// The images attached, in order.
    public var images: [ImageAttachment] {
        parts.compactMap { part in if case .image(let image) = part { return image } else { return nil } }
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }

    /// An assistant reply: optional reasoning first (as the model writes it), then the text, then tool calls.
    public static func assistant(_ text: String, reasoning: String? = nil, toolCalls: [ToolCall] = []) -> ChatMessage {
        var parts: [ContentPart] = reasoning.map { [.thinking($0)] } ?? []
        if !text.isEmpty { parts.append(.text(text)) }
        return ChatMessage(role: .assistant, parts: parts, toolCalls: toolCalls)
    }

    /// The result of the call `callID` to the function `name`.
    public static func toolResult(_ text: String, callID: String, name: String? = nil) -> ChatMessage {
        ChatMessage(role: .tool, parts: text.isEmpty ? [] : [.text(text)], toolCallID: callID, toolName: name)
    }

    private enum CodingKeys: String, CodingKey {
        case role, content
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
        case toolName = "name"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(ChatRole.self, forKey: .role)
        if let text = try? c.decodeIfPresent(String.self, forKey: .content) {
            parts = text.isEmpty ? [] : [.text(text)]
        } else {
            parts = try c.decodeIfPresent([ContentPart].self, forKey: .content) ?? []
        }
        toolCalls = try c.decodeIfPresent([ToolCall].self, forKey: .toolCalls) ?? []
        toolCallID = try c.decodeIfPresent(String.self, forKey: .toolCallID)
        toolName = try c.decodeIfPresent(String.self, forKey: .toolName)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(role, forKey: .role)
        if hasReasoning || !images.isEmpty { try c.encode(parts, forKey: .content) } else { try c.encode(content, forKey: .content) }
        if !toolCalls.isEmpty { try c.encode(toolCalls, forKey: .toolCalls) }
        try c.encodeIfPresent(toolCallID, forKey: .toolCallID)
        try c.encodeIfPresent(toolName, forKey: .toolName)
    }
}

/// A piece of a message's content.
public enum ContentPart: Sendable, Equatable, Codable {
    /// Text the reader sees.
    case text(String)
    /// Reasoning (`[THINK]…[/THINK]` for Magistral); `closed` is false for a thought cut off mid-way.
    case thinking(String, closed: Bool = true)
    /// An image the user attached (for models that accept images).
    case image(ImageAttachment)

    private enum CodingKeys: String, CodingKey { case type, text, thinking, closed, image }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .type) {
        case "text":
            self = .text(try c.decode(String.self, forKey: .text))
        case "thinking":
            self = .thinking(try c.decode(String.self, forKey: .thinking),
                             closed: try c.decodeIfPresent(Bool.self, forKey: .closed) ?? true)
        case "image":
            self = .image(try c.decode(ImageAttachment.self, forKey: .image))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c,
                                                   debugDescription: "unknown content part type '\(other)' (known: text, thinking, image)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .text(let t):
            try c.encode("text", forKey: .type)
            try c.encode(t, forKey: .text)
        case .thinking(let t, let closed):
            try c.encode("thinking", forKey: .type)
            try c.encode(t, forKey: .thinking)
            try c.encode(closed, forKey: .closed)
        case .image(let image):
            try c.encode("image", forKey: .type)
            try c.encode(image, forKey: .image)
        }
    }
}
