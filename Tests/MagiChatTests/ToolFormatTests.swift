import MagiChat
import Testing

/// Tools, calls and results as each format renders them: Mistral v13's `[AVAILABLE_TOOLS]` and
/// `[TOOL_RESULTS]`, ChatML's Hermes-style `<tools>`, `<tool_call>` and `<tool_response>`.
@Suite struct ToolFormatTests {
    @Test func theRenderedPromptCarriesToolsCallsAndResults() throws {
        let call = ToolCall(id: "abc123XYZ", name: "add", arguments: #"{"a": 2, "b": 40}"#)
        let schema = try JSONValue(parsing: #"{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}"#)
        let tools = [ToolDefinition(name: "add", description: "Adds two integers.", parameters: schema)]
        let conversation = Conversation(messages: [.user("2+40?"), .assistant("", toolCalls: [call]),
                                                   .toolResult("42", callID: "abc123XYZ", name: "add")], tools: tools)
        let mistral = try ChatFormat.mistralV13.render(conversation).text
        #expect(mistral.contains(#"[AVAILABLE_TOOLS][{"type": "function", "function": {"name": "add""#))
        #expect(mistral.hasSuffix(#"[TOOL_CALLS]add[ARGS]{"a": 2, "b": 40}</s>[TOOL_RESULTS]42[/TOOL_RESULTS]"#))
        let chatML = try ChatFormat.chatML.render(conversation).text
        #expect(chatML.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"add\""))
        #expect(chatML.hasSuffix("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 40}}\n</tool_call><|im_end|>\n"
                                 + "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n"))
    }

    @Test func chatMLAddsASystemMessageForToolsAndGroupsResults() throws {
        let tools = [ToolDefinition(name: "now", description: "The time.")]
        let calls = [ToolCall(id: "1", name: "now", arguments: "{}"), ToolCall(id: "2", name: "now", arguments: "{}")]
        let conversation = Conversation(messages: [.user("Time?"), .assistant("", toolCalls: calls),
                                                   .toolResult("12:00", callID: "1"), .toolResult("12:01", callID: "2")], tools: tools)
        let text = try ChatFormat.chatML.render(conversation).text
        #expect(text.hasPrefix("<|im_start|>system\n# Tools\n"))
        #expect(text.contains("<|im_start|>user\n<tool_response>\n12:00\n</tool_response>\n<tool_response>\n12:01\n</tool_response><|im_end|>\n"))
    }
}
