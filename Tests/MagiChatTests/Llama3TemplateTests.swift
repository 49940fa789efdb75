import Foundation
import MagiChat
import Testing

/// The Llama 3 format against Meta's published Llama 3 Instruct template rendered by jinja2
/// (Tests/MagiChatTests/Fixtures/llama3-instruct.jinja, rendered by scripts/gen-test-fixtures).
@Suite struct Llama3TemplateTests {
    static var available: Bool { TestEnvironment.hasFixture("chat-template-llama3.json") }

    @Test(.enabled(if: available)) func matchesTheJinjaTemplate() throws {
        let url = URL(fileURLWithPath: TestEnvironment.fixtures + "/chat-template-llama3.json")
        let cases = try JSONDecoder().decode([ChatTemplateTests.Case].self, from: Data(contentsOf: url))
        #expect(cases.count >= 10)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/llama3-instruct.jinja"), encoding: .utf8)
        let template = ChatTemplate(source: source)
        #expect(template.format == .llama3 && template.defaultSystemMessage == nil)
        for c in cases {
            let messages = c.messages.map { ChatMessage(role: ChatRole(rawValue: $0.role)!, content: $0.content) }
            #expect(try template.render(messages, addGenerationPrompt: c.add_generation_prompt).text == c.text)
        }
    }
}
