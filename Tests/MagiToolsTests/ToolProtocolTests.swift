import MagiTools
import Testing

@Suite struct ToolProtocolTests {
    struct Echo: Tool {
        let name = "echo"
        let description = "Repeats its text."
        let parametersSchema = #"{"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}"#
        func run(arguments: String) async throws -> String { arguments }
    }

    @Test func aToolRunsOnItsArguments() async throws {
        let tool: any Tool = Echo()
        #expect(try await tool.run(arguments: #"{"text": "hi"}"#) == #"{"text": "hi"}"#)
    }
}
