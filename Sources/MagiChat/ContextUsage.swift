/// What a conversation's prompt spends of the context window, part by part, for `/context`.
///
/// Each turn is measured on its own, after the system messages and tools: as the growth of that
/// short prompt when the turn is added, with its reasoning and tool results apart. The whole prompt
/// is measured once more, and what the joins between turns cost is counted on the system line
/// (which also carries the format's fixed tokens, such as the assistant's opening), so the parts
/// add up to the whole prompt. The work grows with the conversation's length, not its square.
public struct ContextUsage: Sendable, Equatable {
    /// One line of the breakdown.
    public struct Entry: Sendable, Equatable {
        public var label: String
        public var tokens: Int
    }

    public var entries: [Entry]
    public var contextSize: Int

    /// Tokens of the whole prompt.
    public var used: Int { entries.reduce(0) { $0 + $1.tokens } }
    /// Positions left in the window.
    public var free: Int { max(0, contextSize - used) }

    /// Measures `conversation` with `measure` (its prompt's length in tokens): system messages,
    /// tool definitions, then each turn with its reasoning and tool results apart.
    public init(of conversation: Conversation, contextSize: Int, measure: (Conversation) throws -> Int) rethrows {
        self.contextSize = contextSize
        let messages = conversation.messages
        let leadingSystem = Array(messages.prefix { $0.role == .system })
        var entries: [Entry] = []
        let system = try measure(Conversation(messages: leadingSystem))
        entries.append(Entry(label: "system", tokens: system))
        var base = system
        if !conversation.tools.isEmpty {
            base = try measure(Conversation(messages: leadingSystem, tools: conversation.tools))
            entries.append(Entry(label: "tools (\(conversation.tools.count))", tokens: base - system))
        }
        var start = leadingSystem.count
        var turn = 0
        while start < messages.count {
            let end = messages[(start + 1)...].firstIndex { $0.role == .user } ?? messages.count
            turn += 1
            let alone = Conversation(messages: leadingSystem + messages[start..<end], tools: conversation.tools)
            let whole = try measure(alone)
            var withoutReasoning = alone, withoutResults = alone
            for i in leadingSystem.count..<alone.messages.count {
                withoutReasoning.messages[i].parts.removeAll { if case .thinking = $0 { return true } else { return false } }
                if alone.messages[i].role == .tool { withoutResults.messages[i].parts = [] }
            }
            let reasoning = try messages[start..<end].contains { $0.hasReasoning } ? whole - measure(withoutReasoning) : 0
            let results = try messages[start..<end].contains { $0.role == .tool } ? whole - measure(withoutResults) : 0
            let preview = messages[start].content.prefix(40).replacingOccurrences(of: "\n", with: " ")
            entries.append(Entry(label: "turn \(turn): \(preview)", tokens: whole - base - reasoning - results))
            if reasoning > 0 { entries.append(Entry(label: "  reasoning", tokens: reasoning)) }
            if results > 0 { entries.append(Entry(label: "  tool results", tokens: results)) }
            start = end
        }
        if turn > 0 {
            let total = try measure(conversation)
            entries[0].tokens += total - entries.reduce(0) { $0 + $1.tokens }
        }
        self.entries = entries
    }

    /// The breakdown as aligned lines, ending with the free space.
    public var table: String {
        let rows = entries.map { ($0.label, $0.tokens) } + [("free", free)]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { label, tokens in
            label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(repeating: " ", count: max(0, 6 - String(tokens).count)) + "\(tokens)"
        }.joined(separator: "\n") + "\n" + "used \(used) of \(contextSize) tokens"
    }
}
