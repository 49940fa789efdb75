import Foundation
import MagiChat
import MagiEngine
import MagiTokenizer
import Testing

/// Each step of the context budget, measured with real tokenizers: SmolLM2's (ChatML) and
/// Magistral's Tekken (Mistral v13, which keeps the reasoning of earlier replies).
@Suite struct ContextBudgetTests {
    static let smolLM2: Result<Tokenizer, Error> = Result {
        try Tokenizer(vocabulary: TokenizerVocabulary(gguf: GGUFFile(path: TestEnvironment.modelPath)))
    }

    static func chatML(_ conversation: Conversation) throws -> Int {
        try ChatFormat.chatML.render(conversation).tokens(using: smolLM2.get()).count
    }

    static func magistral(_ conversation: Conversation) throws -> Int {
        try ChatFormat.mistralV13.render(conversation).tokens(using: MistralFormatTests.tekken.get()).count
    }

    /// A budget whose prompt limit is exactly `limit`.
    static func budget(limit: Int) -> ContextBudget { ContextBudget(contextSize: limit + 64, reserve: 64) }

    static func turns(_ count: Int) -> [ChatMessage] {
        (1...count).flatMap { i in [ChatMessage.user("Question number \(i): what is \(i) times \(i)?"), .assistant("It is \(i * i).")] }
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func aConversationThatFitsIsLeftAlone() throws {
        let conversation = Conversation(messages: [.system("Be brief.")] + Self.turns(3) + [.user("And 4?")])
        let tokens = try Self.chatML(conversation)
        let fit = try Self.budget(limit: tokens).fit(conversation, measure: Self.chatML)
        #expect(fit == ContextFit(conversation: conversation, tokenCount: tokens, reduction: ContextReduction()))
        #expect(fit.reduction.description == "nothing left out")
    }

    @Test(.enabled(if: TestEnvironment.hasTekken)) func reasoningOfEarlierRepliesGoesFirst() throws {
        let thought = String(repeating: "Let me think about this carefully. ", count: 20)
        let conversation = Conversation(messages: [
            .system("Think, then answer."), .user("2+2?"), .assistant("4", reasoning: thought),
            .user("3+3?"), .assistant("6", reasoning: thought), .user("4+4?"),
        ])
        var stripped = conversation
        for i in [2, 4] { stripped.messages[i] = .assistant(stripped.messages[i].content) }
        let full = try Self.magistral(conversation), bare = try Self.magistral(stripped)
        #expect(bare < full)
        let fit = try Self.budget(limit: bare).fit(conversation, measure: Self.magistral)
        #expect(fit.conversation == stripped)
        #expect(fit.tokenCount == bare)
        #expect(fit.reduction == ContextReduction(droppedReasoning: 2))
        #expect(fit.reduction.description == "left out to fit the context window: the reasoning of 2 earlier replies")
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func oldToolResultsAreTrimmedOldestFirst() throws {
        let page = String(repeating: "Paris is the capital and largest city of France. ", count: 12)
        func lookup(_ id: String) -> [ChatMessage] {
            [.assistant("", toolCalls: [ToolCall(id: id, name: "search", arguments: "{\"q\":\"Paris\"}")]),
             .toolResult(page, callID: id, name: "search"), .assistant("Paris.")]
        }
        let conversation = Conversation(messages: [.system("Use tools.")] + [.user("Capital?")] + lookup("a")
                                        + [.user("Again?")] + lookup("b") + [.user("Thanks. Bye?")])
        var oneTrimmed = conversation
        oneTrimmed.messages[3].parts = [.text(ContextBudget.trimmedToolResult)]
        let fit = try Self.budget(limit: Self.chatML(oneTrimmed)).fit(conversation, measure: Self.chatML)
        #expect(fit.conversation == oneTrimmed)
        #expect(fit.reduction == ContextReduction(trimmedToolResults: 1))
        #expect(fit.reduction.description == "left out to fit the context window: an old tool result")
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func oldestTurnsGoLastKeepingTheSystemPromptAndTheLatestMessage() throws {
        let latest = ChatMessage.user("What is 11 times 11?")
        let conversation = Conversation(messages: [.system("Be brief.")] + Self.turns(10) + [latest])
        let keptThree = Conversation(messages: [.system("Be brief.")] + Array(Self.turns(10).suffix(6)) + [latest])
        let fit = try Self.budget(limit: Self.chatML(keptThree)).fit(conversation, measure: Self.chatML)
        #expect(fit.conversation == keptThree)
        #expect(fit.reduction == ContextReduction(droppedTurns: 7))
        #expect(fit.reduction.description == "left out to fit the context window: the 7 oldest turns")

        let bare = Conversation(messages: [.system("Be brief."), latest])
        let minimal = try Self.budget(limit: Self.chatML(bare)).fit(conversation, measure: Self.chatML)
        #expect(minimal.conversation == bare)
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func aLatestMessageTooLongForTheWindowIsAnError() throws {
        let conversation = Conversation(messages: [.system("Be brief."), .user("Hi"), .assistant("Hello"),
                                                   .user(String(repeating: "long ", count: 200))])
        let kept = try Self.chatML(Conversation(messages: [conversation.messages[0], conversation.messages[3]]))
        #expect(throws: ContextBudgetError.doesNotFit(tokens: kept, contextSize: 164, reserve: 64)) {
            try ContextBudget(contextSize: 164, reserve: 64).fit(conversation, measure: Self.chatML)
        }
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func usageAddsUpToThePrompt() throws {
        let conversation = Conversation(messages: [
            .system("Use tools."), .user("Capital?"),
            .assistant("", toolCalls: [ToolCall(id: "a", name: "search", arguments: "{}")]),
            .toolResult("Paris is the capital of France.", callID: "a"), .assistant("Paris."), .user("Thanks"),
        ])
        let usage = try ContextUsage(of: conversation, contextSize: 512, measure: Self.chatML)
        #expect(usage.used == (try Self.chatML(conversation)))
        #expect(usage.entries.map(\.label) == ["system", "turn 1: Capital?", "  tool results", "turn 2: Thanks"])
        #expect(usage.free == 512 - usage.used)
        #expect(usage.table.hasSuffix("used \(usage.used) of 512 tokens"))
    }

    @Test(.enabled(if: TestEnvironment.hasTekken)) func usageShowsReasoningApart() throws {
        let conversation = Conversation(messages: [.user("2+2?"), .assistant("4", reasoning: "Two and two make four."), .user("3+3?")])
        let usage = try ContextUsage(of: conversation, contextSize: 1000, measure: Self.magistral)
        #expect(usage.entries.map(\.label) == ["system", "turn 1: 2+2?", "  reasoning", "turn 2: 3+3?"])
        #expect(usage.used == (try Self.magistral(conversation)))
    }
}

extension ContextBudgetTests {
    @Test(.enabled(if: TestEnvironment.hasModel)) func droppingTurnsFreesTheHeadroomToo() throws {
        let latest = ChatMessage.user("What is 11 times 11?")
        let conversation = Conversation(messages: [.system("Be brief.")] + Self.turns(10) + [latest])
        let keptThree = Conversation(messages: [.system("Be brief.")] + Array(Self.turns(10).suffix(6)) + [latest])
        let keptOne = Conversation(messages: [.system("Be brief.")] + Array(Self.turns(10).suffix(2)) + [latest])
        let limit = try Self.chatML(keptThree), target = try Self.chatML(keptOne)
        let budget = ContextBudget(contextSize: limit + 64, reserve: 64, headroom: limit - target)
        let fit = try budget.fit(conversation, measure: Self.chatML)
        #expect(fit.conversation == keptOne && fit.tokenCount == target)
        #expect(fit.reduction == ContextReduction(droppedTurns: 9))
        // Headroom that cannot be had: the fewest turns that fit are dropped.
        let greedy = try ContextBudget(contextSize: limit + 64, reserve: 64, headroom: limit).fit(conversation, measure: Self.chatML)
        #expect(greedy.conversation == keptThree && greedy.reduction.droppedTurns == 7)
    }
}
