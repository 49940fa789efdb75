/// Why a conversation could not be rendered or encoded in a chat format.
public enum ChatFormatError: Error, Equatable, CustomStringConvertible {
    /// `--chat-format` (or a config) named no known format.
    case unknownFormat(String)
    /// The model's chat template is not one magi recognises, and no format was named.
    case unrecognizedTemplate
    /// The format needs a special token the model's vocabulary does not have.
    case missingSpecialToken(String)
    /// The format cannot express part of the conversation (tools in ChatML, reasoning before v13…).
    case unsupported(feature: String, format: ChatFormat)
    /// A tool message does not say which call it answers, or answers none the assistant made.
    case toolResultWithoutCall(String)
    /// A tool definition is malformed.
    case invalidToolDefinition(String)

    public var description: String {
        switch self {
        case .unknownFormat(let name):
            return "unknown chat format '\(name)'; known: \(ChatFormat.allCases.map(\.rawValue).joined(separator: ", "))"
        case .unrecognizedTemplate:
            return "the model's chat template is not one magi recognises; pass --chat-format NAME "
                + "(known: \(ChatFormat.allCases.map(\.rawValue).joined(separator: ", "))), or --raw for plain completion"
        case .missingSpecialToken(let name):
            return "the model's vocabulary has no '\(name)' token, which its chat format needs; "
                + "choose another with --chat-format (known: \(ChatFormat.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .unsupported(let feature, let format):
            return "chat format '\(format.rawValue)' cannot express \(feature)"
        case .toolResultWithoutCall(let detail):
            return "tool result without a matching call: \(detail)"
        case .invalidToolDefinition(let detail):
            return "invalid tool definition: \(detail)"
        }
    }
}
