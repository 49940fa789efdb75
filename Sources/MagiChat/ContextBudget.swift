/// Keeps a conversation's prompt inside the context window, with room left for the answer.
///
/// When the rendered prompt plus ``reserve`` does not fit in ``contextSize``, these steps apply in
/// order, each only as far as needed:
/// 1. drop the reasoning of assistant messages before the latest user message;
/// 2. trim tool results before the latest user message, oldest first;
/// 3. drop whole turns (a user message and the replies and results after it), oldest first, and
///    ``headroom`` tokens more when possible, so that the next turns fit without dropping again and
///    keep reusing the cached prefix (a caller that remembers what was dropped gets that reuse).
///
/// System messages, the tool definitions and everything from the latest user message on are kept.
/// The prompt is measured by rendering it, so every count is exact for the model's chat format.
public struct ContextBudget: Sendable, Equatable {
    /// Positions in the window.
    public var contextSize: Int
    /// Tokens kept free for the answer.
    public var reserve: Int
    /// Tokens freed beyond the need when turns are dropped.
    public var headroom: Int

    /// What a trimmed tool result says in place of its text.
    public static let trimmedToolResult = "[result removed to fit the context window]"

    public init(contextSize: Int, reserve: Int, headroom: Int = 0) {
        self.contextSize = contextSize
        self.reserve = reserve
        self.headroom = headroom
    }

    /// A budget keeping room for an answer of `maxAnswerTokens` (a quarter of the window when nil,
    /// never more than half), and freeing an eighth of the window more when it drops turns.
    public init(contextSize: Int, maxAnswerTokens: Int?) {
        self.init(contextSize: contextSize, reserve: min(maxAnswerTokens ?? contextSize / 4, contextSize / 2),
                  headroom: contextSize / 8)
    }

    /// The most tokens a prompt may have.
    public var promptLimit: Int { max(0, contextSize - reserve) }

    /// `conversation` reduced until `measure` (its prompt's length in tokens) leaves the reserve free.
    ///
    /// - Throws: ``ContextBudgetError/doesNotFit(tokens:contextSize:reserve:)`` when even the kept part is too long,
    ///   and whatever `measure` throws.
    public func fit(_ conversation: Conversation, measure: (Conversation) throws -> Int) throws -> ContextFit {
        var current = conversation
        var tokens = try measure(current)
        var reduction = ContextReduction()
        guard tokens > promptLimit else { return ContextFit(conversation: current, tokenCount: tokens, reduction: reduction) }
        let latestUser = current.messages.lastIndex { $0.role == .user } ?? current.messages.count

        // 1. Reasoning of earlier replies, all at once (most formats drop it anyway).
        let thoughtful = current.messages[..<latestUser].indices.filter {
            current.messages[$0].role == .assistant && current.messages[$0].hasReasoning
        }
        if !thoughtful.isEmpty {
            var candidate = current
            for i in thoughtful {
                candidate.messages[i].parts.removeAll { if case .thinking = $0 { return true } else { return false } }
            }
            let shorter = try measure(candidate)
            if shorter < tokens { reduction.droppedReasoning = thoughtful.count }
            (current, tokens) = (candidate, shorter)
        }

        // 2. Tool results, oldest first.
        for i in current.messages[..<latestUser].indices where tokens > promptLimit {
            guard current.messages[i].role == .tool, current.messages[i].content != Self.trimmedToolResult else { continue }
            current.messages[i].parts = [.text(Self.trimmedToolResult)]
            tokens = try measure(current)
            reduction.trimmedToolResults += 1
        }

        // 3. Whole turns, oldest first: the fewest that free the headroom too, else the fewest that fit.
        let turns = Self.droppableTurns(in: current.messages)
        if tokens > promptLimit && !turns.isEmpty {
            func dropping(_ count: Int) -> Conversation {
                var c = current
                for turn in turns[..<count].reversed() { c.messages.removeSubrange(turn) }
                return c
            }
            /// The fewest turns to drop for a prompt of at most `bound` tokens, by bisection.
            func fewest(within bound: Int) throws -> (count: Int, conversation: Conversation, tokens: Int)? {
                var (low, high) = (1, turns.count)
                var best: (count: Int, conversation: Conversation, tokens: Int)?
                while low <= high {
                    let middle = (low + high) / 2
                    let candidate = dropping(middle)
                    let length = try measure(candidate)
                    if length <= bound { (best, high) = ((middle, candidate, length), middle - 1) } else { low = middle + 1 }
                }
                return best
            }
            let chosen = try fewest(within: max(0, promptLimit - headroom)) ?? fewest(within: promptLimit)
            let count = chosen?.count ?? turns.count
            current = chosen?.conversation ?? dropping(count)
            tokens = try chosen?.tokens ?? measure(current)
            reduction.droppedTurns = count
        }
        guard tokens <= promptLimit else { throw ContextBudgetError.doesNotFit(tokens: tokens, contextSize: contextSize, reserve: reserve) }
        return ContextFit(conversation: current, tokenCount: tokens, reduction: reduction)
    }

    /// The turns that may go, oldest first: each from a non-system message to the next user or
    /// system message, all before the latest user message.
    static func droppableTurns(in messages: [ChatMessage]) -> [Range<Int>] {
        guard let latestUser = messages.lastIndex(where: { $0.role == .user }) else { return [] }
        var turns: [Range<Int>] = []
        var start = 0
        while let first = messages[start..<latestUser].firstIndex(where: { $0.role != .system }) {
            let end = messages[(first + 1)..<latestUser].firstIndex { $0.role == .user || $0.role == .system } ?? latestUser
            turns.append(first..<end)
            start = end
        }
        return turns
    }
}

/// A conversation fitted by ``ContextBudget``: what to render, its length and what was left out.
public struct ContextFit: Sendable, Equatable {
    public var conversation: Conversation
    /// Tokens of the rendered prompt.
    public var tokenCount: Int
    public var reduction: ContextReduction

    public init(conversation: Conversation, tokenCount: Int, reduction: ContextReduction) {
        self.conversation = conversation
        self.tokenCount = tokenCount
        self.reduction = reduction
    }
}

/// What ``ContextBudget`` left out of a prompt.
public struct ContextReduction: Sendable, Equatable, CustomStringConvertible {
    /// Earlier replies whose reasoning was dropped.
    public var droppedReasoning = 0
    /// Earlier tool results replaced by ``ContextBudget/trimmedToolResult``.
    public var trimmedToolResults = 0
    /// Oldest turns left out.
    public var droppedTurns = 0

    public init(droppedReasoning: Int = 0, trimmedToolResults: Int = 0, droppedTurns: Int = 0) {
        self.droppedReasoning = droppedReasoning
        self.trimmedToolResults = trimmedToolResults
        self.droppedTurns = droppedTurns
    }

    /// Nothing was left out.
    public var isEmpty: Bool { self == ContextReduction() }

    /// One line for the user, such as "left out to fit the context window: the reasoning of 2 earlier replies, the 3 oldest turns".
    public var description: String {
        func count(_ n: Int, _ one: String, _ many: String) -> String { n == 1 ? one : "\(n) \(many)" }
        var parts: [String] = []
        if droppedReasoning > 0 { parts.append("the reasoning of " + count(droppedReasoning, "an earlier reply", "earlier replies")) }
        if trimmedToolResults > 0 { parts.append(count(trimmedToolResults, "an old tool result", "old tool results")) }
        if droppedTurns > 0 { parts.append(droppedTurns == 1 ? "the oldest turn" : "the \(droppedTurns) oldest turns") }
        return parts.isEmpty ? "nothing left out" : "left out to fit the context window: " + parts.joined(separator: ", ")
    }
}

/// Why a prompt cannot be fitted.
public enum ContextBudgetError: Error, Equatable, CustomStringConvertible {
    /// The system prompt, the tools and the latest message alone are `tokens` long: more than the
    /// window of `contextSize` leaves beside `reserve` tokens for the answer.
    case doesNotFit(tokens: Int, contextSize: Int, reserve: Int)

    public var description: String {
        switch self {
        case let .doesNotFit(tokens, contextSize, reserve):
            return "the system prompt, tools and last message take \(tokens) tokens, more than the context window of \(contextSize)"
                + " leaves beside \(reserve) for the answer; raise it with -c or shorten the message"
        }
    }
}
