import MagiChat
import MagiEngine

/// The grammar of one tool call in a chat format, from the schemas of the offered tools: after the
/// trigger (`<tool_call>` in ChatML), `{"name": N, "arguments": A}` where A matches N's schema; or,
/// for a reply that must call a tool, the whole `<tool_call>…</tool_call>`.
///
/// Mistral formats get none: their calls put the `[ARGS]` control token between name and
/// arguments, and grammars match text only.
struct ToolCallGrammar {
    /// The text after which the constraint applies.
    let trigger: String
    /// The grammar in GBNF of what follows the trigger.
    let gbnf: String
    /// The grammar in GBNF of a reply that is one call.
    let requiredCallGBNF: String

    /// The grammar for `tools` in `format`, or nil when the format has none or there are no tools.
    ///
    /// - Throws: ``JSONSchemaError`` when a tool's schema uses a keyword the grammar cannot enforce.
    init?(format: ChatFormat, tools: [ToolDefinition]) throws {
        guard format == .chatML, !tools.isEmpty else { return nil }
        let forms = tools.map { tool in
            JSONValue.object([
                (key: "type", value: .string("object")),
                (key: "properties", value: .object([(key: "name", value: .object([(key: "const", value: .string(tool.name))])),
                                                    (key: "arguments", value: tool.parameters)])),
                (key: "required", value: .array([.string("name"), .string("arguments")])),
            ])
        }
        let schema = JSONValue.object([(key: "anyOf", value: .array(forms))]).pythonText
        let call = try JSONSchemaGrammar(schema: schema).gbnf
        // The schema's rules with its root renamed, after the line break the model writes first.
        let rules = call.split(separator: "\n").map { $0.hasPrefix("root ::= ") ? "tool-call ::= " + $0.dropFirst(9) : String($0) }
        trigger = "<tool_call>"
        gbnf = "root ::= \"\\n\"? tool-call\n" + rules.joined(separator: "\n") + "\n"
        requiredCallGBNF = "root ::= \"<tool_call>\\n\" tool-call \"\\n</tool_call>\"\n" + rules.joined(separator: "\n") + "\n"
    }

    /// The lazy grammar (after the trigger), or the grammar of a reply that must be a call.
    func grammar(requiringCall: Bool = false) throws -> Grammar { try Grammar(gbnf: requiringCall ? requiredCallGBNF : gbnf) }
}
