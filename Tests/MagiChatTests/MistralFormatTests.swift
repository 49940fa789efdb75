import Foundation
import MagiChat
import MagiTokenizer
import Testing

/// Mistral formats compared with mistral-common's `encode_chat_completion`
/// (Fixtures/mistral-chat-reference.json, made by scripts/gen-mistral-chat-reference.py).
@Suite struct MistralFormatTests {
    struct Reference {
        let name: String
        let conversation: Conversation
        let text: [String: String]
        let tokens: [String: [Int32]]
    }

    static let versions: [String: ChatFormat] = ["v3": .mistralV3, "v7": .mistralV7, "v11": .mistralV11, "v13": .mistralV13]

    /// The reference cases; tool schemas are rebuilt from an order-keeping parse, since
    /// `JSONDecoder` does not keep key order and the tools' JSON must match byte for byte.
    static func references() throws -> [Reference] {
        let url = URL(fileURLWithPath: TestEnvironment.committedFixtures + "/mistral-chat-reference.json")
        let data = try Data(contentsOf: url)
        struct Raw: Decodable { let name: String; let conversation: Conversation; let text: [String: String]; let tokens: [String: [Int32]] }
        let raw = try JSONDecoder().decode([Raw].self, from: data)
        guard case .array(let ordered) = try JSONValue(parsing: String(decoding: data, as: UTF8.self)) else { return [] }
        return try zip(raw, ordered).map { r, json in
            var conversation = r.conversation
            if case .array(let tools)? = json["conversation"]?["tools"] { conversation.tools = try tools.map(ToolDefinition.init(json:)) }
            return Reference(name: r.name, conversation: conversation, text: r.text, tokens: r.tokens)
        }
    }

    @Test func textMatchesMistralCommon() throws {
        let references = try Self.references()
        #expect(references.count >= 10)
        var compared = 0
        for r in references {
            for (version, expected) in r.text {
                let format = try #require(Self.versions[version])
                let prompt = try format.render(r.conversation)
                #expect(prompt.text == expected, "\(r.name) \(version)")
                compared += 1
            }
        }
        #expect(compared >= 30)
    }

    /// Magistral Small 1.2's Tekken tokenizer: mistral-common's vocabulary with the v13 special tokens
    /// (the table the fixture script uses; ids 0-19, all that v3 and v7 use, are the same in both).
    static let tekken: Result<Tokenizer, Error> = Result {
        try Tokenizer(tekkenFile: TestEnvironment.tekkenPath, specialTokens: TekkenSpecialToken.magistralSmall12)
    }

    @Test(.enabled(if: TestEnvironment.hasTekken)) func tokenIDsMatchMistralCommon() throws {
        let tokenizer = try Self.tekken.get()
        var compared = 0
        for r in try Self.references() {
            for (version, expected) in r.tokens {
                let format = try #require(Self.versions[version])
                #expect(try format.render(r.conversation).tokens(using: tokenizer) == expected, "\(r.name) \(version)")
                compared += 1
            }
        }
        #expect(compared >= 30)
        // The known vector, and BOS not doubled when the vocabulary also asks for one.
        let hello = try ChatFormat.mistralV13.render([.user("Hello, how are you?")])
        #expect(try hello.tokens(using: tokenizer, sequenceStart: 1) == [1, 3, 22177, 1044, 2606, 1584, 1636, 1063, 4])
    }

    @Test(.enabled(if: TestEnvironment.hasTekken)) func magistralOutputParsedFromTokenIDs() throws {
        let tokenizer = try Self.tekken.get()
        #expect(ChatFormat.detect(template: nil, tokenizer: tokenizer) == .mistralV13)
        func special(_ name: String) throws -> [Int32] { [try #require(tokenizer.tokenID(for: name))] }
        func text(_ s: String) -> [Int32] { tokenizer.encode(s, addSpecial: false, parseSpecial: false) }
        let ids = try special("[THINK]") + text("Weather first, [THINK] is just text here.") + special("[/THINK]")
            + special("[TOOL_CALLS]") + text("get_weather") + special("[ARGS]") + text(#"{"city": "Zürich"}"#) + special("</s>")
        var parser = TokenStreamParser(tokenizer: tokenizer, parser: StreamParser(makeCallID: { "call0000\($0)" }))
        var events: [StreamEvent] = []
        for id in ids { events += parser.append(id) }
        events += parser.finish()
        #expect(parser.message.reasoning == "Weather first, [THINK] is just text here.")
        #expect(parser.message.toolCalls == [ToolCall(id: "call00001", name: "get_weather", arguments: #"{"city": "Zürich"}"#)])
        #expect(events.last == .toolCall(ToolCall(id: "call00001", name: "get_weather", arguments: #"{"city": "Zürich"}"#)))
    }

    /// End to end through a GGUF: the Magistral-shaped test model (scripts/make-magistral-shaped-gguf.py:
    /// Tekken vocabulary with the v13 tokens, a community-style template without [THINK]) is detected as
    /// v13, gets the model card's system prompt by default, and prompts exactly as mistral-common.
    @Test(.enabled(if: TestEnvironment.hasFixture("magistral-shaped.gguf"))) func magistralGGUFPromptsAsMistralCommon() throws {
        let model = try LocalModel(path: TestEnvironment.fixtures + "/magistral-shaped.gguf")
        #expect(model.template.format == .mistralV13)
        #expect(model.template.defaultSystemMessage == RecommendedSettings.magistralSmall12.systemMessage)
        let reference = try #require(try Self.references().first { $0.name == "magistral-system-prompt" })
        #expect(try model.promptTokens(for: [.user("What is the capital of France?")]) == reference.tokens["v13"])
        #expect(try model.promptTokens(for: reference.conversation) == reference.tokens["v13"])
    }

    @Test func v13LayoutOfMistralCommonsOwnTest() throws {
        // mistral-common tests/test_tokenizer_v13.py EXPECTED_TEXT_V13 (tool results given in reverse order).
        let tool = ToolDefinition(name: "math_interpreter", description: "Get the value of an arithmetic expression.",
                                  parameters: try JSONValue(parsing: #"{"type": "object", "properties": {"expression": {"type": "string", "description": "Math expression."}}}"#))
        let conversation = Conversation(messages: [
            .system("S"), .user("U1"),
            .assistant("A1", toolCalls: [ToolCall(id: "123456789", name: "F1", arguments: "{}"),
                                         ToolCall(id: "999999999", name: "F2", arguments: "{}")]),
            .toolResult("R2", callID: "999999999"), .toolResult("R1", callID: "123456789"),
            .assistant("A2"), .user("U2"),
        ], tools: [tool])
        let expected = #"<s>[SYSTEM_PROMPT]S[/SYSTEM_PROMPT][AVAILABLE_TOOLS][{"type": "function", "function": {"name": "math_interpreter", "description": "Get the value of an arithmetic expression.", "parameters": {"type": "object", "properties": {"expression": {"type": "string", "description": "Math expression."}}}}}][/AVAILABLE_TOOLS][INST]U1[/INST]A1[TOOL_CALLS]F1[ARGS]{}[TOOL_CALLS]F2[ARGS]{}</s>[TOOL_RESULTS]R1[/TOOL_RESULTS][TOOL_RESULTS]R2[/TOOL_RESULTS]A2</s>[INST]U2[/INST]"#
        #expect(try ChatFormat.mistralV13.render(conversation).text == expected)
    }

    @Test func olderVersionsRejectReasoning() {
        let conversation = Conversation(messages: [.user("Q"), .assistant("A", reasoning: "T"), .user("Q2")])
        #expect(throws: ChatFormatError.unsupported(feature: "reasoning", format: .mistralV7)) {
            try ChatFormat.mistralV7.render(conversation)
        }
        #expect(throws: ChatFormatError.self) {
            try ChatFormat.mistralV7.render([.user("Q"), ChatMessage(role: .tool, content: "R")])
        }
    }

    @Test func conversationsRoundTripThroughJSON() throws {
        for r in try Self.references() {
            let data = try JSONEncoder().encode(r.conversation)
            var back = try JSONDecoder().decode(Conversation.self, from: data)
            back.tools = r.conversation.tools  // schemas' key order is not kept by JSONDecoder
            #expect(back == r.conversation, "\(r.name)")
        }
    }
}
