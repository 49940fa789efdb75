/// How a model family lays out a conversation as text, with its special tokens.
///
/// Chosen from the chat template a GGUF file carries (`tokenizer.chat_template`) by recognising
/// the family's markers, as llama.cpp does for its built-in formats.
public enum ChatFormat: String, Sendable, CaseIterable {
    /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM2, Qwen, Hermes).
    case chatML = "chatml"
    /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3; the tokenizer adds BOS).
    case llama3

    /// The format a template belongs to; ChatML when nothing is recognised (llama.cpp's fallback too).
    public static func detect(template: String?) -> ChatFormat {
        guard let t = template else { return .chatML }
        if t.contains("<|start_header_id|>") { return .llama3 }
        return .chatML
    }

    /// Renders `messages` and, when `addGenerationPrompt` is set, opens the assistant's turn.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var out = ""
        switch self {
        case .chatML:
            for m in messages { out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for m in messages {
                out += "<|start_header_id|>\(m.role == .tool ? "ipython" : m.role.rawValue)<|end_header_id|>\n\n\(m.content)<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return out
    }
}

/// A model's chat template as magi applies it: the format plus the default system prompt the
/// template inserts when a conversation has none.
public struct ChatTemplate: Sendable {
    public let format: ChatFormat
    public let defaultSystemPrompt: String?
    /// The template source as the model file carries it.
    public let source: String?

    public init(source: String?) {
        self.source = source
        let format = ChatFormat.detect(template: source)
        self.format = format
        defaultSystemPrompt = source.flatMap { Self.literalSystemPrompt(in: $0, format: format) }
    }

    /// Renders a conversation, adding the default system prompt when the first message is not a system one.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var all = messages
        if let d = defaultSystemPrompt, all.first?.role != .system { all.insert(.system(d), at: 0) }
        return format.render(all, addGenerationPrompt: addGenerationPrompt)
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
