/// Mistral's instruct formats exactly as mistral-common's `MistralTokenizer.encode_chat_completion`
/// lays them out (its request normalizer, then `InstructTokenizerV3/V7/V11/V13`).
///
/// v13 (Magistral Small 1.2): `<s>[SYSTEM_PROMPT]S[THINK]T[/THINK]S[/SYSTEM_PROMPT]`, tools as
/// `[AVAILABLE_TOOLS][…][/AVAILABLE_TOOLS]` before the first `[INST]`, assistant turns as
/// `[THINK]T[/THINK]A[TOOL_CALLS]name[ARGS]{…}</s>`, results as `[TOOL_RESULTS]R[/TOOL_RESULTS]`
/// in call order. Older versions differ as each `case` below says. JSON is written as Python's
/// `json.dumps` writes it, since that is what the models were trained on.
///
/// Not mirrored: mistral-common merges consecutive messages of one role with `"\n\n"` and inserts an
/// empty user message before a conversation that starts with an assistant; magi's conversations
/// alternate already.
struct MistralRenderer {
    enum Version: Int, Comparable {
        case v3 = 3, v7 = 7, v11 = 11, v13 = 13
        static func < (a: Version, b: Version) -> Bool { a.rawValue < b.rawValue }
    }

    let version: Version

    private var format: ChatFormat {
        switch version {
        case .v3: return .mistralV3
        case .v7: return .mistralV7
        case .v11: return .mistralV11
        case .v13: return .mistralV13
        }
    }

    func render(_ conversation: Conversation) throws -> Prompt {
        let messages = version >= .v11 ? Self.resultsInCallOrder(conversation.messages) : conversation.messages
        let userIndices = messages.indices.filter { messages[$0].role == .user }
        // v13 lists the tools before the first user message, older versions before the last.
        let toolsIndex = version == .v13 ? userIndices.first : userIndices.last
        // v3 folds every system message into the last user message.
        let v3SystemPrompt = messages.filter { $0.role == .system && !$0.parts.isEmpty }.map(\.content).joined(separator: "\n\n")

        var p = Prompt()
        p.special("<s>")
        for (index, m) in messages.enumerated() {
            switch m.role {
            case .system:
                guard version >= .v7 else {
                    if m.hasReasoning { throw ChatFormatError.unsupported(feature: "reasoning", format: format) }
                    continue
                }
                p.special("[SYSTEM_PROMPT]")
                try appendParts(m.parts, to: &p)
                p.special("[/SYSTEM_PROMPT]")
            case .user:
                if index == toolsIndex && !conversation.tools.isEmpty {
                    p.special("[AVAILABLE_TOOLS]")
                    p.text(JSONValue.array(conversation.tools.map(\.functionObject)).pythonText)
                    p.special("[/AVAILABLE_TOOLS]")
                }
                p.special("[INST]")
                if version == .v3 && index == userIndices.last && !v3SystemPrompt.isEmpty {
                    p.text(v3SystemPrompt + "\n\n")
                }
                try appendParts(m.parts, to: &p)
                p.special("[/INST]")
            case .assistant:
                try appendAssistant(m, to: &p)
            case .tool:
                try appendToolResult(m, to: &p)
            }
        }
        return p
    }

    private func appendParts(_ parts: [ContentPart], to p: inout Prompt) throws {
        for part in parts {
            switch part {
            case .text(let t):
                p.text(t)
            case .thinking(let t, let closed):
                guard version >= .v13 else { throw ChatFormatError.unsupported(feature: "reasoning", format: format) }
                p.special("[THINK]")
                p.text(t)
                if closed { p.special("[/THINK]") }
            case .image:
                throw ChatFormatError.unsupported(feature: "images", format: format)
            }
        }
    }

    private func appendAssistant(_ m: ChatMessage, to p: inout Prompt) throws {
        if version == .v3 && !m.toolCalls.isEmpty && !m.parts.isEmpty {
            throw ChatFormatError.unsupported(feature: "text and tool calls in one message", format: format)
        }
        if m.hasReasoning {
            try appendParts(m.parts, to: &p)
        } else {
            // Plain string content loses its trailing spaces (mistral-common's `rstrip(" ")`).
            var text = Substring(m.content)
            while text.last == " " { text.removeLast() }
            p.text(String(text))
        }
        switch version {
        case .v3, .v7:
            guard !m.toolCalls.isEmpty else { break }
            let calls = m.toolCalls.map { call -> JSONValue in
                var members: [(key: String, value: JSONValue)] = [(key: "name", value: .string(call.name)),
                                                                  (key: "arguments", value: Self.arguments(call))]
                if !call.id.isEmpty && call.id != "null" { members.append((key: "id", value: .string(call.id))) }
                return .object(members)
            }
            p.special("[TOOL_CALLS]")
            p.text(JSONValue.array(calls).pythonText)
        case .v11, .v13:
            for call in m.toolCalls {
                p.special("[TOOL_CALLS]")
                p.text(call.name)
                if version == .v11 {
                    p.special("[CALL_ID]")
                    p.text(call.id)
                }
                p.special("[ARGS]")
                p.text(Self.arguments(call).pythonText)
            }
        }
        p.special("</s>")
    }

    private func appendToolResult(_ m: ChatMessage, to p: inout Prompt) throws {
        guard let id = m.toolCallID ?? (version == .v13 ? "" : nil) else {
            throw ChatFormatError.toolResultWithoutCall("format '\(format.rawValue)' needs the tool_call_id of every tool result")
        }
        p.special("[TOOL_RESULTS]")
        switch version {
        case .v3:
            let content = m.content.isEmpty ? "{}" : m.content
            let value = (try? JSONValue(parsing: content)) ?? .string(content)
            p.text(JSONValue.object([(key: "content", value: value), (key: "call_id", value: .string(id))]).pythonText)
        case .v7, .v11:
            p.text(id)
            p.special("[TOOL_CONTENT]")
            p.text(m.content)
        case .v13:
            p.text(m.content)
        }
        p.special("[/TOOL_RESULTS]")
    }

    /// Arguments as mistral-common re-serialises them: parsed and dumped again; empty means `{}`;
    /// text that is not JSON becomes a JSON string.
    private static func arguments(_ call: ToolCall) -> JSONValue {
        let text = call.arguments.isEmpty ? "{}" : call.arguments
        return (try? JSONValue(parsing: text)) ?? .string(text)
    }

    /// Each run of tool results sorted by the order of the calls of the assistant message before it
    /// (mistral-common's v11+ normalizer); results for unknown calls keep their order at the end.
    static func resultsInCallOrder(_ messages: [ChatMessage]) -> [ChatMessage] {
        var out: [ChatMessage] = []
        var callOrder: [String: Int] = [:]
        var run: [ChatMessage] = []
        func flush() {
            let ranked = run.enumerated().map { (rank: callOrder[$0.element.toolCallID ?? ""] ?? Int.max, index: $0.offset, message: $0.element) }
            out += ranked.sorted { ($0.rank, $0.index) < ($1.rank, $1.index) }.map(\.message)
            run.removeAll()
        }
        for m in messages {
            if m.role == .tool {
                run.append(m)
                continue
            }
            flush()
            if m.role == .assistant && !m.toolCalls.isEmpty {
                callOrder = Dictionary(m.toolCalls.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })
            }
            out.append(m)
        }
        flush()
        return out
    }
}
