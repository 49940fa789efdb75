import MagiTokenizer

/// A model's chat template as magi applies it: the format plus the system message used when a
/// conversation has none.
public struct ChatTemplate: Sendable {
    /// nil when the model's template is not one magi recognises (see ``ChatFormat/detect(template:tokenizer:)``).
    public let format: ChatFormat?
    /// Put first when a conversation has no system message: the one the template writes literally
    /// (SmolLM2's), else the model card's (Magistral's, with its `[THINK]` template), else none.
    public let defaultSystemMessage: ChatMessage?
    /// The template source as the model file carries it.
    public let source: String?

    /// The template of a model file: the format detected from `source` (and from the vocabulary of
    /// `tokenizer` when the template does not say), unless `format` names one.
    public init(source: String?, tokenizer: Tokenizer? = nil, format: ChatFormat? = nil) {
        self.source = source
        let format = format ?? ChatFormat.detect(template: source, tokenizer: tokenizer)
        self.format = format
        if let format, let literal = source.flatMap({ Self.literalSystemPrompt(in: $0, format: format) }) {
            defaultSystemMessage = .system(literal)
        } else {
            defaultSystemMessage = format.flatMap(RecommendedSettings.forFormat)?.systemMessage
        }
    }

    /// Renders a conversation, adding the default system message when the first message is not a system one.
    public func render(_ conversation: Conversation, addGenerationPrompt: Bool = true) throws -> Prompt {
        var all = conversation
        if let d = defaultSystemMessage, all.messages.first?.role != .system { all.messages.insert(d, at: 0) }
        guard let format else { throw ChatFormatError.unrecognizedTemplate }
        return try format.render(all, addGenerationPrompt: addGenerationPrompt)
    }

    /// Renders plain messages, as the `Conversation` overload does.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> Prompt {
        try render(Conversation(messages: messages), addGenerationPrompt: addGenerationPrompt)
    }

    /// A system prompt written literally in the template, such as SmolLM2's
    /// `'<|im_start|>system\nYou are a helpful AI assistant…<|im_end|>\n'`.
    private static func literalSystemPrompt(in template: String, format: ChatFormat) -> String? {
        guard format == .chatML else { return nil }
        for opener in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            guard let start = template.range(of: opener),
                  let end = template.range(of: "<|im_end|>", range: start.upperBound..<template.endIndex) else { continue }
            let text = template[start.upperBound..<end.lowerBound]
            // Only a literal: no template expressions or string concatenation inside.
            if text.contains("{{") || text.contains("{%") || text.contains("'") || text.contains("\"") || text.contains("+") { continue }
            return String(text)
        }
        return nil
    }
}
