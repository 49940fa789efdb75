import Foundation
import MagiTokenizer

/// How a model family lays out a conversation, with its special tokens.
///
/// Chosen from the chat template a GGUF file carries (`tokenizer.chat_template`) and its vocabulary
/// by recognising the family's markers, as llama.cpp does for its built-in formats, or by name
/// (``init(named:)``, for `--chat-format`).
public enum ChatFormat: String, Sendable, CaseIterable, Codable {
    /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM2, Qwen, Hermes); tool calls as `<tool_call>{…}</tool_call>`.
    case chatML = "chatml"
    /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3; the tokenizer adds BOS).
    case llama3
    /// Mistral v3 (Mistral 7B v0.3, Mixtral 8x22B): system prompt folded into the last `[INST]`.
    case mistralV3 = "mistral-v3"
    /// Mistral v7 (Mistral Small 3, Large 2411): `[SYSTEM_PROMPT]`, tool results with call ids.
    case mistralV7 = "mistral-v7"
    /// Mistral v11: tool calls as `[TOOL_CALLS]name[CALL_ID]id[ARGS]{…}`.
    case mistralV11 = "mistral-v11"
    /// Mistral v13 (Magistral Small 1.2): tools before the first `[INST]`, no call ids, `[THINK]…[/THINK]`.
    case mistralV13 = "mistral-v13"

    /// The format called `name`: a raw value, or `magistral` for ``mistralV13``.
    ///
    /// - Throws: ``ChatFormatError/unknownFormat(_:)`` listing the known names.
    public init(named name: String) throws {
        let key = name.lowercased()
        if key == "magistral" { self = .mistralV13; return }
        guard let format = ChatFormat(rawValue: key) else { throw ChatFormatError.unknownFormat(name) }
        self = format
    }

    /// The format a template (and, when the template says nothing, a vocabulary) belongs to, or nil
    /// when neither is recognised: then chatting needs `--chat-format` (plain completion works).
    /// A file without a template gets ChatML when its vocabulary has ChatML's tokens.
    ///
    /// Mistral is recognised by `[INST]`, `[SYSTEM_PROMPT]` or `[AVAILABLE_TOOLS]`; the version by
    /// `[THINK]` (template or vocabulary) or `[ARGS]` without `[CALL_ID]` → v13, `[CALL_ID]` → v11,
    /// `[SYSTEM_PROMPT]` → v7, else v3.
    public static func detect(template: String?, tokenizer: Tokenizer? = nil) -> ChatFormat? {
        func inVocabulary(_ name: String) -> Bool { tokenizer?.tokenID(for: name) != nil }
        if let t = template {
            if t.contains("<|start_header_id|>") { return .llama3 }
            if t.contains("<|im_start|>") { return .chatML }
            if ["[INST]", "[SYSTEM_PROMPT]", "[AVAILABLE_TOOLS]", "[THINK]"].contains(where: t.contains) {
                if t.contains("[THINK]") || inVocabulary("[THINK]") { return .mistralV13 }
                if t.contains("[CALL_ID]") { return .mistralV11 }
                if t.contains("[ARGS]") { return .mistralV13 }
                return t.contains("[SYSTEM_PROMPT]") ? .mistralV7 : .mistralV3
            }
            return nil
        }
        if inVocabulary("[INST]") {
            if inVocabulary("[THINK]") || inVocabulary("[ARGS]") { return .mistralV13 }
            return inVocabulary("[SYSTEM_PROMPT]") ? .mistralV7 : .mistralV3
        }
        if inVocabulary("<|start_header_id|>") { return .llama3 }
        return inVocabulary("<|im_start|>") ? .chatML : nil
    }

    /// The special tokens every plain conversation (no tools, no reasoning) needs.
    public var requiredSpecialTokens: [String] {
        switch self {
        case .chatML: return ["<|im_start|>", "<|im_end|>"]
        case .llama3: return ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        case .mistralV3: return ["<s>", "</s>", "[INST]", "[/INST]"]
        case .mistralV7, .mistralV11, .mistralV13: return ["<s>", "</s>", "[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]"]
        }
    }

    /// Renders `conversation`; `addGenerationPrompt` opens the assistant's turn (Mistral formats
    /// need nothing after the last `[/INST]` or `[/TOOL_RESULTS]`, so it changes nothing there).
    ///
    /// Reasoning of earlier turns is dropped by ChatML and Llama 3 (as Qwen3's and DeepSeek-R1's
    /// templates do) and kept by Mistral v13 (as mistral-common does).
    ///
    /// - Throws: ``ChatFormatError`` for what the format cannot express.
    public func render(_ conversation: Conversation, addGenerationPrompt: Bool = true) throws -> Prompt {
        switch self {
        case .chatML: return try renderChatML(conversation, addGenerationPrompt: addGenerationPrompt)
        case .llama3: return try renderLlama3(conversation, addGenerationPrompt: addGenerationPrompt)
        case .mistralV3: return try MistralRenderer(version: .v3).render(conversation)
        case .mistralV7: return try MistralRenderer(version: .v7).render(conversation)
        case .mistralV11: return try MistralRenderer(version: .v11).render(conversation)
        case .mistralV13: return try MistralRenderer(version: .v13).render(conversation)
        }
    }

    /// Renders plain messages, as the `Conversation` overload does.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> Prompt {
        try render(Conversation(messages: messages), addGenerationPrompt: addGenerationPrompt)
    }

    /// Hermes/Qwen style: tools listed in `<tools>` at the end of the system message (one is added
    /// when there is none), calls as `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>` after
    /// the text, results as a user message of `<tool_response>` blocks.
    private func renderChatML(_ conversation: Conversation, addGenerationPrompt: Bool) throws -> Prompt {
        var messages = conversation.messages
        if !conversation.tools.isEmpty {
            let tools = conversation.tools.map(\.functionObject.pythonText).joined(separator: "\n")
            let block = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n\(tools)\n</tools>\n\n"
                + "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
                + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
            if messages.first?.role == .system {
                messages[0] = .system(messages[0].content + "\n\n" + block)
            } else {
                messages.insert(.system(block), at: 0)
            }
        }
        var p = Prompt()
        for (index, m) in messages.enumerated() {
            if m.role == .tool {
                // Consecutive results share one user message.
                if index == 0 || messages[index - 1].role != .tool { p.special("<|im_start|>"); p.text("user") }
                p.text("\n<tool_response>\n\(m.content)\n</tool_response>")
                if index + 1 == messages.count || messages[index + 1].role != .tool { p.special("<|im_end|>"); p.text("\n") }
                continue
            }
            p.special("<|im_start|>")
            p.text("\(m.role.rawValue)\n\(m.content)")
            for (i, call) in m.toolCalls.enumerated() {
                let arguments = (try? JSONValue(parsing: call.arguments)) ?? .string(call.arguments)
                let object = JSONValue.object([(key: "name", value: .string(call.name)), (key: "arguments", value: arguments)])
                p.text((i > 0 || !m.content.isEmpty ? "\n" : "") + "<tool_call>\n\(object.pythonText)\n</tool_call>")
            }
            p.special("<|im_end|>")
            p.text("\n")
        }
        if addGenerationPrompt {
            p.special("<|im_start|>")
            p.text("assistant\n")
        }
        return p
    }

    private func renderLlama3(_ conversation: Conversation, addGenerationPrompt: Bool) throws -> Prompt {
        guard conversation.tools.isEmpty else { throw ChatFormatError.unsupported(feature: "tool definitions", format: self) }
        var p = Prompt()
        for m in conversation.messages {
            guard m.toolCalls.isEmpty else { throw ChatFormatError.unsupported(feature: "tool calls", format: self) }
            p.special("<|start_header_id|>")
            p.text(m.role == .tool ? "ipython" : m.role.rawValue)
            p.special("<|end_header_id|>")
            // Meta's template writes `message['content'] | trim`.
            p.text("\n\n" + m.content.trimmingCharacters(in: .whitespacesAndNewlines))
            p.special("<|eot_id|>")
        }
        if addGenerationPrompt {
            p.special("<|start_header_id|>")
            p.text("assistant")
            p.special("<|end_header_id|>")
            p.text("\n\n")
        }
        return p
    }
}
