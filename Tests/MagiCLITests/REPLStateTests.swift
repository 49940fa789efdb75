import MagiChat
import MagiEngine
import Testing
@testable import MagiCLI

/// The REPL's settings and conversation, as `/set`, `/retry`, `/undo`, `/clear` and `/load` change them.
@Suite struct REPLStateTests {
    @Test func settingsApplyAndList() {
        var settings = REPLSettings(sampling: .greedy, seed: nil, maxTokens: nil, verbose: false)
        for change: SettingChange in [.sampling(.temperature, 0.5), .sampling(.top_p, 0.9), .sampling(.top_k, 7), .sampling(.min_p, 0.1),
                                      .sampling(.repeat_penalty, 1.1), .seed(42), .maxTokens(64), .verbose(true)] {
            settings.apply(change)
        }
        #expect(settings.samplingForNextAnswer().seed == 42)
        #expect(settings.samplingForNextAnswer().temperature == 0.5)
        #expect(settings.listing.split(separator: "\n").map { String($0.split(separator: " ")[0]) } == Setting.allCases.map(\.name))
        #expect(settings.listing.contains("top_k 7") && settings.listing.contains("max_tokens 64") && settings.listing.contains("verbose on"))
        #expect(SettingChange.sampling(.top_k, 3).setting == .sampling(.top_k) && settings.value(of: .sampling(.min_p)) == "0.1")
        settings.apply(.seed(nil))
        #expect(settings.listing.contains("seed random"))
    }

    @Test func conversationRendersExchangesInOrder() {
        var conversation = REPLConversation(system: "Be brief.")
        conversation.append(.init(question: "Hi", answer: "Hello"))
        conversation.append(.init(question: "Story?", answer: "Once upon", wasInterrupted: true))
        #expect(conversation.messages == [.system("Be brief."), .user("Hi"), .assistant("Hello"), .user("Story?"), .assistant("Once upon")])
        #expect(conversation.removeLast()?.question == "Story?")
        conversation.clear()
        #expect(conversation.messages == [.system("Be brief.")])
        #expect(conversation.removeLast() == nil)
    }

    @Test func loadingTakesAlternatingTurns() throws {
        let messages: [ChatMessage] = [.system("S"), .user("Q1"), .assistant("A1"), .user("Q2")]
        let conversation = try REPLConversation(messages: messages)
        #expect(conversation.system == "S")
        #expect(conversation.exchanges == [.init(question: "Q1", answer: "A1")])
        #expect(throws: ConversationFileError.unexpectedRole(.assistant, position: 1)) {
            try REPLConversation(messages: [.assistant("A")])
        }
    }
}
