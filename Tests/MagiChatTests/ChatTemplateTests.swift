import Foundation
import MagiChat
import MagiEngine
import Testing

/// magi's chat formats compared with the model's own Jinja template rendered by jinja2
/// (scripts/render-chat-templates.py, run by scripts/gen-test-fixtures).
@Suite struct ChatTemplateTests {
    static var magiHome: String { ProcessInfo.processInfo.environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi" }
    static var modelPath: String { magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var fixture: String {
        (ProcessInfo.processInfo.environment["MAGI_FIXTURES"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/.build/fixtures")
            + "/chat-template-smollm2.json"
    }
    static var available: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil
            || (FileManager.default.fileExists(atPath: modelPath) && FileManager.default.fileExists(atPath: fixture))
    }

    struct Case: Decodable {
        struct Message: Decodable { let role: String; let content: String }
        let messages: [Message]
        let add_generation_prompt: Bool
        let text: String
    }

    @Test(.enabled(if: available)) func smolLM2MatchesItsJinjaTemplate() throws {
        let file = try GGUFFile(path: Self.modelPath)
        let template = ChatTemplate(source: try file.optionalString("tokenizer.chat_template"))
        #expect(template.format == .chatML)
        #expect(template.defaultSystemPrompt == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixture)))
        #expect(cases.count >= 8)
        for c in cases {
            let messages = c.messages.map { ChatMessage(role: ChatRole(rawValue: $0.role)!, content: $0.content) }
            #expect(template.render(messages, addGenerationPrompt: c.add_generation_prompt) == c.text)
        }
    }

    @Test func detectsFormatsFromTemplateMarkers() {
        #expect(ChatFormat.detect(template: "{{ '<|start_header_id|>' + message['role'] }}") == .llama3)
        #expect(ChatFormat.detect(template: "{{'<|im_start|>' + message['role']}}") == .chatML)
        #expect(ChatFormat.detect(template: nil) == .chatML)
        // A system prompt built from expressions is not mistaken for a literal default.
        #expect(ChatTemplate(source: "<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>").defaultSystemPrompt == nil)
    }

    @Test func rendersLlama3() {
        let text = ChatFormat.llama3.render([.system("S"), .user("U")])
        #expect(text == "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    }
}
