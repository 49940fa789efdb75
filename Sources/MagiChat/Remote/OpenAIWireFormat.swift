import Foundation

/// The chat-completions wire format of the OpenAI API, as vLLM, llama.cpp's server, Ollama and
/// Mistral's API speak it: messages and tools to and from JSON, for `magi serve` (reading requests)
/// and the remote backend (writing them).
public enum OpenAIWireFormat {
    /// `message` as a chat-completions message object. Reasoning goes in `reasoning_content`
    /// (which vLLM, llama.cpp and magi read back); images as `image_url` parts with data URLs.
    public static func json(for message: ChatMessage) -> JSONValue {
        let content: JSONValue
        let images = message.images
        if images.isEmpty {
            content = message.role == .assistant && message.content.isEmpty && !message.toolCalls.isEmpty ? .null : .string(message.content)
        } else {
            content = .array([.object(["type": .string("text"), "text": .string(message.content)])]
                + images.map { .object(["type": .string("image_url"), "image_url": .object(["url": .string($0.dataURL)])]) })
        }
        let calls: JSONValue? = message.toolCalls.isEmpty ? nil : .array(message.toolCalls.map(json(for:)))
        return .object([
            "role": .string(message.role.rawValue),
            "content": content,
            "reasoning_content": message.role == .assistant ? message.reasoning.map(JSONValue.string) : nil,
            "tool_calls": calls,
            "tool_call_id": message.toolCallID.map(JSONValue.string),
            "name": message.role == .tool ? message.toolName.map(JSONValue.string) : nil,
        ])
    }

    /// `call` as an entry of `tool_calls`.
    public static func json(for call: ToolCall) -> JSONValue {
        .object(["id": .string(call.id), "type": .string("function"),
                 "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)])])
    }

    /// `tool` as an entry of `tools`.
    public static func json(for tool: ToolDefinition) -> JSONValue { tool.functionObject }

    /// The messages of a chat-completions request. `developer` counts as `system`; a tool message
    /// takes its function's name from the call it answers.
    ///
    /// - Throws: ``OpenAIFormatError`` naming the field (`messages[2].role`) and what is wrong.
    public static func messages(from json: JSONValue?) throws(OpenAIFormatError) -> [ChatMessage] {
        guard let items = json?.array else { throw .init(param: "messages", "'messages' must be an array of message objects") }
        guard !items.isEmpty else { throw .init(param: "messages", "'messages' must hold at least one message") }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            messages.append(try message(from: item, at: "messages[\(index)]", after: messages))
        }
        return messages
    }

    /// The tools of a request (`[{"type": "function", "function": {name, description, parameters}}]`).
    ///
    /// - Throws: ``OpenAIFormatError`` for a tool without a name or of another type.
    public static func tools(from json: JSONValue?) throws(OpenAIFormatError) -> [ToolDefinition] {
        guard let json, json != .null else { return [] }
        guard let items = json.array else { throw .init(param: "tools", "'tools' must be an array") }
        return try items.enumerated().map { (index, item) throws(OpenAIFormatError) -> ToolDefinition in
            let field = "tools[\(index)]"
            guard item["type"]?.string ?? "function" == "function" else {
                throw .init(param: field + ".type", "only tools of type 'function' are supported")
            }
            guard let function = item["function"], let name = function["name"]?.string, !name.isEmpty else {
                throw .init(param: field + ".function.name", "'\(field).function.name' must be a non-empty string")
            }
            if let parameters = function["parameters"], parameters.members == nil {
                throw .init(param: field + ".function.parameters", "'\(field).function.parameters' must be a JSON Schema object")
            }
            return ToolDefinition(name: name, description: function["description"]?.string ?? "",
                                  parameters: function["parameters"] ?? .object([]))
        }
    }

    /// The tool calls of an assistant message (`tool_calls`), in order.
    ///
    /// - Throws: ``OpenAIFormatError`` for a call without a function name.
    public static func toolCalls(from json: JSONValue?, at field: String) throws(OpenAIFormatError) -> [ToolCall] {
        guard let json, json != .null else { return [] }
        guard let items = json.array else { throw .init(param: field, "'\(field)' must be an array") }
        return try items.enumerated().map { (index, item) throws(OpenAIFormatError) -> ToolCall in
            guard let name = item["function"]?["name"]?.string, !name.isEmpty else {
                throw .init(param: "\(field)[\(index)].function.name", "'\(field)[\(index)].function.name' must be a non-empty string")
            }
            let arguments: String
            switch item["function"]?["arguments"] {
            case .string(let text)?: arguments = text
            case let value? where value != .null: arguments = value.compactText  // some clients send an object
            default: arguments = "{}"
            }
            return ToolCall(id: item["id"]?.string ?? StreamParser.randomCallID(), name: name, arguments: arguments)
        }
    }

    private static func message(from item: JSONValue, at field: String, after earlier: [ChatMessage]) throws(OpenAIFormatError) -> ChatMessage {
        guard item.members != nil else { throw .init(param: field, "'\(field)' must be an object") }
        guard let roleName = item["role"]?.string else { throw .init(param: field + ".role", "'\(field).role' is missing") }
        let role: ChatRole
        switch roleName {
        case "system", "developer": role = .system
        case "user": role = .user
        case "assistant": role = .assistant
        case "tool": role = .tool
        default: throw .init(param: field + ".role", "'\(field).role' must be system, developer, user, assistant or tool, not '\(roleName)'")
        }
        let text = try self.text(of: item["content"], at: field + ".content")
        switch role {
        case .assistant:
            let reasoning = (item["reasoning_content"] ?? item["reasoning"])?.string
            return .assistant(text, reasoning: reasoning?.isEmpty == false ? reasoning : nil,
                              toolCalls: try toolCalls(from: item["tool_calls"], at: field + ".tool_calls"))
        case .tool:
            guard let callID = item["tool_call_id"]?.string else {
                throw .init(param: field + ".tool_call_id", "'\(field).tool_call_id' is missing")
            }
            let name = item["name"]?.string
                ?? earlier.reversed().lazy.flatMap(\.toolCalls).first { $0.id == callID }?.name
            return .toolResult(text, callID: callID, name: name)
        default:
            return ChatMessage(role: role, content: text)
        }
    }

    /// The text of `content`: a string, null, or a list of text parts.
    private static func text(of content: JSONValue?, at field: String) throws(OpenAIFormatError) -> String {
        switch content {
        case nil, .null?: return ""
        case .string(let text)?: return text
        case .array(let parts)?:
            var text = ""
            for (index, part) in parts.enumerated() {
                switch part["type"]?.string {
                case "text": text += part["text"]?.string ?? ""
                case "image_url", "input_image", "image":
                    throw .init(param: "\(field)[\(index)]", "this model does not accept images (it has no vision encoder)")
                case let other:
                    throw .init(param: "\(field)[\(index)].type", "unsupported content part type '\(other ?? "none")'")
                }
            }
            return text
        default:
            throw .init(param: field, "'\(field)' must be a string or an array of content parts")
        }
    }
}

/// A request in the OpenAI wire format that magi cannot read: which field, and why.
public struct OpenAIFormatError: Error, Equatable, CustomStringConvertible {
    /// The field at fault, as a path (`messages[1].content`).
    public let param: String?
    public let message: String

    public init(param: String?, _ message: String) {
        self.param = param
        self.message = message
    }

    public var description: String { message }
}

/// An image attached to a user message, sent to a model that accepts images.
public struct ImageAttachment: Sendable, Equatable, Codable {
    /// The media type (`image/png`).
    public let mediaType: String
    /// The file's bytes, base64-encoded.
    public let base64: String

    /// The image in the file at `path`.
    ///
    /// - Throws: ``ImageAttachmentError`` when the file cannot be read or is no PNG, JPEG, GIF or WebP.
    public init(path: String) throws(ImageAttachmentError) {
        guard let data = FileManager.default.contents(atPath: UserFolders().expandingTilde(path)) else {
            throw .unreadable(path)
        }
        guard let type = Self.mediaType(of: data) else { throw .notAnImage(path) }
        mediaType = type
        base64 = data.base64EncodedString()
    }

    /// The image as a `data:` URL, as Mistral's and OpenAI's APIs take it.
    public var dataURL: String { "data:\(mediaType);base64,\(base64)" }

    /// The media type from the file's first bytes (its signature), or nil.
    static func mediaType(of data: Data) -> String? {
        let head = [UInt8](data.prefix(12))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if head.starts(with: Array("GIF8".utf8)) { return "image/gif" }
        if head.count == 12 && head.starts(with: Array("RIFF".utf8)) && Array(head[8..<12]) == Array("WEBP".utf8) { return "image/webp" }
        return nil
    }
}

/// Why an image could not be attached.
public enum ImageAttachmentError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case notAnImage(String)

    public var description: String {
        switch self {
        case .unreadable(let path): return "cannot read \(path)"
        case .notAnImage(let path): return "\(path) is not a PNG, JPEG, GIF or WebP image"
        }
    }
}
