import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import Testing
@testable import MagiCLI

/// The context window across turns, driven through ``ChatTurn`` on the default model: prefix reuse,
/// a long conversation kept inside a small window, and a reply stopped by a full window.
@Suite(.serialized) struct SessionContextTests {
    static let model: Result<LocalModel, Error> = Result {
        try LocalModel(path: CommandLineTests.magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    static func turn(contextSize: Int) throws -> ChatTurn {
        let local = try model.get()
        return ChatTurn(model: local, session: InferenceSession(model: local.model, contextSize: contextSize))
    }

    func reply(_ turn: ChatTurn, to prompt: [Int32], maxTokens: Int? = 32) async throws -> ChatTurn.Reply {
        try await turn.generate(prompt: prompt, sampling: .greedy, maxTokens: maxTokens, output: { _ in })
    }

    @Test func exchangesLeftOutStayInTheSessionButNotInThePrompt() {
        var conversation = REPLConversation(system: "S")
        for i in 1...3 { conversation.append(.init(question: "Q\(i)", answer: "A\(i)")) }
        conversation.leaveOut(2)
        #expect(conversation.promptMessages == [.system("S"), .user("Q3"), .assistant("A3")])
        #expect(conversation.messages.count == 7)
        conversation.leaveOut(5)
        #expect(conversation.promptMessages == [.system("S")])
        conversation.removeLast()
        #expect(conversation.leftOut == 2)
        conversation.append(.init(question: "Q4", answer: "A4"))
        conversation.compact(into: "Summary.")
        #expect(conversation.messages == [.system("S"), .user(REPLConversation.summaryRequest), .assistant("Summary."), .user("Q4"), .assistant("A4")])
        #expect(conversation.leftOut == 0)
        conversation.leaveOut(1)
        conversation.clear()
        #expect(conversation.leftOut == 0)
    }

    @Test func repliesWithReasoningAndToolResultsSurviveTheSession() throws {
        let messages: [ChatMessage] = [
            .system("S"), .user("Weather?"),
            .assistant("", reasoning: "Look it up.", toolCalls: [ToolCall(id: "c1", name: "weather", arguments: "{}")]),
            .toolResult("sunny", callID: "c1", name: "weather"), .assistant("Sunny.", reasoning: "Easy."),
            .user("Thanks"), .assistant("You're welcome."),
        ]
        let conversation = try REPLConversation(messages: messages)
        #expect(conversation.messages == messages)
        #expect(conversation.exchanges.map(\.answer) == ["Sunny.", "You're welcome."])
        #expect(conversation.exchanges[0].steps.count == 3 && conversation.exchanges[1].steps.isEmpty)
        #expect(throws: ConversationFileError.unexpectedRole(.tool, position: 3)) {
            try REPLConversation(messages: [.system("S"), .user("Q"), .toolResult("r", callID: "c")])
        }
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func theSecondTurnPrefillsOnlyItsNewTokens() async throws {
        let turn = try Self.turn(contextSize: 2048)
        let background = String(repeating: "The assistant knows geography, history and the capitals of every country. ", count: 40)
        var conversation = REPLConversation(system: "You are a helpful assistant. Answer in one sentence. " + background)
        let firstQuestion = "What is the capital of France?"
        let firstPrompt = try turn.promptTokens(for: Conversation(messages: conversation.messages + [.user(firstQuestion)]))
        let first = try await reply(turn, to: firstPrompt)
        #expect(first.summary.promptTokens == firstPrompt.count)
        conversation.append(.init(question: firstQuestion, answer: first.text))

        let secondPrompt = try turn.promptTokens(for: Conversation(messages: conversation.messages + [.user("And of Italy?")]))
        let cached = turn.session.commonPrefixLength(with: secondPrompt)
        #expect(cached >= firstPrompt.count)
        let clock = ContinuousClock()
        let start = clock.now
        let second = try await reply(turn, to: secondPrompt, maxTokens: 1)
        let withReuse = clock.now - start
        #expect(second.summary.promptTokens == secondPrompt.count - cached)
        #expect(second.summary.promptTokens < secondPrompt.count / 2)

        turn.session.reset()
        let coldStart = clock.now
        let cold = try await reply(turn, to: secondPrompt, maxTokens: 1)
        let withoutReuse = clock.now - coldStart
        #expect(cold.summary.promptTokens == secondPrompt.count)
        print("second turn: \(secondPrompt.count) prompt tokens; with reuse \(second.summary.promptTokens) prefilled in \(withReuse),"
              + " without reuse \(cold.summary.promptTokens) prefilled in \(withoutReuse)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func fiftyTurnsFitA512TokenWindowWithTheSystemPromptInEveryPrompt() async throws {
        let turn = try Self.turn(contextSize: 512)
        let system = "You are a terse assistant. Reply with a short sentence."
        let systemTokens = try turn.model.template.render([.system(system)], addGenerationPrompt: false)
            .tokens(using: turn.model.tokenizer, sequenceStart: turn.model.sequenceStart)
        var conversation = REPLConversation(system: system)
        var notices: [String] = []
        var reusingTurns = 0
        for i in 1...50 {
            let question = "Turn \(i): name an animal that starts with the letter \(Character(UnicodeScalar(UInt8(65 + i % 26))))."
            let fit = try turn.fit(Conversation(messages: conversation.promptMessages + [.user(question)]), maxTokens: 32)
            if !fit.reduction.isEmpty { notices.append(fit.reduction.description) }
            conversation.leaveOut(fit.reduction.droppedTurns)
            let prompt = try turn.promptTokens(for: fit.conversation)
            #expect(prompt.count == fit.tokenCount && prompt.count <= 512 - 32)
            #expect(Array(prompt.prefix(systemTokens.count)) == systemTokens, "turn \(i)")
            #expect(fit.conversation.messages.last == .user(question))
            let cached = turn.session.commonPrefixLength(with: prompt)
            let answer = try await reply(turn, to: prompt)
            #expect(answer.summary.promptTokens == prompt.count - cached)
            if cached > prompt.count / 2 { reusingTurns += 1 }
            #expect(answer.summary.reason != .contextFull, "turn \(i)")
            conversation.append(.init(question: question, answer: answer.text))
        }
        #expect(conversation.exchanges.count == 50)
        #expect(!notices.isEmpty && notices.count < 25)
        #expect(reusingTurns >= 25)
        #expect(conversation.leftOut > 30 && conversation.messages.count == 101)
        #expect(notices.allSatisfy { $0.hasPrefix("left out to fit the context window: the") && $0.hasSuffix("oldest turns") || $0.hasSuffix("oldest turn") })
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aReplyThatFillsTheWindowStopsCleanly() async throws {
        let turn = try Self.turn(contextSize: 96)
        let prompt = try turn.promptTokens(for: Conversation(messages: [.user("Write a very long story about a dragon.")]))
        let story = try await reply(turn, to: prompt, maxTokens: nil)
        #expect(story.summary.reason == .contextFull)
        #expect(turn.session.tokens.count == 96)
        #expect(turn.contextFullNotice(for: story.summary) == "stopped: the context window of 96 tokens is full")
        // The window is full, and the next turn still starts: the cache is rewound to the shared prefix.
        let next = try await reply(turn, to: prompt, maxTokens: 4)
        #expect(next.summary.promptTokens == 1)
    }
}

/// A full window through the real `magi`: a clean stop with a notice, or a shift with `--context-shift`.
@Suite(.serialized) struct SessionWindowCommandLineTests {
    @Test(.enabled(if: CommandLineTests.hasModel)) func aFullWindowStopsWithANoticeOrShiftsOnRequest() throws {
        let cli = CommandLineTests()
        let stopped = try cli.magi(["--temp", "0", "-c", "64", "-v", "-p", "Write a very long story about a dragon."])
        #expect(stopped.status == 0)
        #expect(stopped.stderr.contains("magi: stopped: the context window of 64 tokens is full"))
        #expect(stopped.stderr.contains("stop: contextFull"))

        let shifted = try cli.magi(["--temp", "0", "-c", "64", "-n", "120", "-v", "--context-shift", "-p", "Write a very long story about a dragon."])
        #expect(shifted.status == 0)
        #expect(!shifted.stderr.contains("is full"))
        #expect(shifted.stderr.contains("generation: 120 tokens") || shifted.stderr.contains("stop: endOfGeneration"))
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func sessionFlagsAreCheckedTogether() throws {
        let cli = CommandLineTests()
        let both = try cli.magi(["--resume", "work", "--continue"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("pass only one of --resume and --continue"))
    }
}
