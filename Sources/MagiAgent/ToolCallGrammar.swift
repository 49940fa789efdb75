import MagiChat
import MagiEngine
import MagiSchema
import MagiTokenizer

/// The grammar of tool calls in a chat format, from the schemas of the offered tools: what may follow the
/// format's trigger (a lazy constraint), and what a reply that must call a tool may be.
///
/// - ChatML: after `<tool_call>`, `{"name": N, "arguments": A}` where A matches N's schema, then
///   `</tool_call>` (after which the output is free again, so another call may follow).
/// - Mistral v11 and v13: after the `[TOOL_CALLS]` token, `N[CALL_ID]id[ARGS]A` (v11) or `N[ARGS]A` (v13),
///   then further calls, each after another `[TOOL_CALLS]`, then the end of the reply. `[TOOL_CALLS]`,
///   `[CALL_ID]` and `[ARGS]` are control tokens, matched by id (`<[id]>`), never by their text.
/// - Mistral v3 and v7: after the `[TOOL_CALLS]` token, a JSON array of `{"name": N, "arguments": A}`, each
///   with an optional `"id"` of 9 letters or digits (as ``MistralRenderer`` writes them).
public struct ToolCallGrammar: Sendable {
    /// What switches the lazy constraint on.
    public let trigger: GrammarTrigger
    /// The grammar in GBNF of what follows the trigger.
    public let gbnf: String
    /// The grammar in GBNF of a reply that is calls only (for Magistral, after optional reasoning).
    public let requiredCallGBNF: String
    /// One line per tool whose schema no grammar could be made of: its arguments are left free (any
    /// JSON object), and the line says which tool and why. For the user, not the model.
    public let notices: [String]

    /// The grammar for `tools` in `format`, or nil when there are no tools or the format (or the
    /// vocabulary, for Mistral's control tokens) has no tool calls. A tool whose schema cannot be
    /// compiled is offered with free arguments and named in ``notices``; it never refuses the others.
    ///
    /// - Throws: ``JSONSchemaError`` only when the tools' schemas, each compiling alone, fail together.
    public init?(format: ChatFormat, tools: [ToolDefinition], tokenizer: Tokenizer) throws {
        guard !tools.isEmpty, format != .llama3 else { return nil }
        var tools = tools, notices: [String] = []
        for k in tools.indices {
            guard let problem = Self.problem(compiling: tools[k], in: format) else { continue }
            tools[k].parameters = .object([(key: "type", value: .string("object"))])
            notices.append("tool '\(tools[k].name)' is offered with unconstrained arguments: \(problem)")
        }
        self.notices = notices
        switch format {
        case .llama3:
            return nil
        case .chatML:
            let rules = try Self.rules(of: Self.callObjects(tools), root: "tool-call")
            trigger = GrammarTrigger(texts: ["<tool_call>"], tokenizer: tokenizer)
            let (open, close) = (Self.marker("<tool_call>", tokenizer), Self.marker("</tool_call>", tokenizer))
            // After the line break the model writes first.
            gbnf = "root ::= \"\\n\"? tool-call \(close)\n" + rules
            requiredCallGBNF = "root ::= \(open) \"\\n\" tool-call \"\\n\" \(close)\n" + rules
        case .mistralV3, .mistralV7:
            guard let calls = tokenizer.tokenID(for: "[TOOL_CALLS]") else { return nil }
            let rules = try Self.rules(of: Self.callArray(tools), root: "tool-calls")
            trigger = GrammarTrigger(tokens: [calls])
            gbnf = "root ::= \" \"? tool-calls\n" + rules
            requiredCallGBNF = "root ::= <[\(calls)]> \" \"? tool-calls\n" + rules
        case .mistralV11, .mistralV13:
            guard let calls = tokenizer.tokenID(for: "[TOOL_CALLS]"), let args = tokenizer.tokenID(for: "[ARGS]") else { return nil }
            var callID = ""
            if format == .mistralV11 {
                guard let id = tokenizer.tokenID(for: "[CALL_ID]") else { return nil }
                callID = " <[\(id)]> call-id"
            }
            let rules = try Self.rules(of: Self.argumentDefinitions(tools), root: nil)
            let call = tools.enumerated().map { "\(JSONSchemaGrammar.literal($0.element.name))\(callID) <[\(args)]> ref-magi-tool-\($0.offset)" }
            let body = "call ::= " + call.joined(separator: " | ") + "\n" + (callID.isEmpty ? "" : "call-id ::= [a-zA-Z0-9]{9}\n") + rules
            trigger = GrammarTrigger(tokens: [calls])
            gbnf = "root ::= call (<[\(calls)]> call)*\n" + body
            var reasoning = ""
            if format == .mistralV13, let open = tokenizer.tokenID(for: "[THINK]"), let close = tokenizer.tokenID(for: "[/THINK]") {
                reasoning = "(<[\(open)]> .* <[\(close)]>)? "
            }
            requiredCallGBNF = "root ::= \(reasoning)<[\(calls)]> call (<[\(calls)]> call)*\n" + body
        }
    }

    /// The lazy grammar (after the trigger), or the grammar of a reply that must be calls.
    public func grammar(requiringCall: Bool = false) throws -> Grammar { try Grammar(gbnf: requiringCall ? requiredCallGBNF : gbnf) }

    /// Why `tool`'s schema cannot be compiled, alone and as `format` embeds it; nil when it can.
    private static func problem(compiling tool: ToolDefinition, in format: ChatFormat) -> String? {
        do {
            _ = try JSONSchemaGrammar(schema: tool.parameters.pythonText)
            switch format {
            case .llama3: break
            case .chatML: _ = try JSONSchemaGrammar(schema: callObjects([tool]).pythonText)
            case .mistralV3, .mistralV7: _ = try JSONSchemaGrammar(schema: callArray([tool]).pythonText)
            case .mistralV11, .mistralV13: _ = try JSONSchemaGrammar(schema: argumentDefinitions([tool]).pythonText)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Every tool's arguments schema in one document, so the rules of different tools cannot clash:
    /// the one under $defs/magi-tool-K becomes rule ref-magi-tool-K.
    private static func argumentDefinitions(_ tools: [ToolDefinition]) -> JSONValue {
        let defs = tools.enumerated().map { (key: "magi-tool-\($0.offset)", value: $0.element.parameters) }
        return .object([
            (key: "anyOf", value: .array(defs.map { .object([(key: "$ref", value: .string("#/$defs/" + $0.key))]) })),
            (key: "$defs", value: .object(defs)),
        ])
    }

    /// A non-empty array of calls (Mistral v3 and v7).
    private static func callArray(_ tools: [ToolDefinition]) -> JSONValue {
        .object([(key: "type", value: .string("array")), (key: "items", value: callObjects(tools, withID: true)),
                 (key: "minItems", value: .number("1"))])
    }

    /// `{"name": N, "arguments": A}` for any offered tool N, A matching its schema (and an optional call id).
    private static func callObjects(_ tools: [ToolDefinition], withID: Bool = false) -> JSONValue {
        let id = JSONValue.object([(key: "type", value: .string("string")), (key: "pattern", value: .string("^[a-zA-Z0-9]{9}$"))])
        let forms = tools.map { tool in
            JSONValue.object([
                (key: "type", value: .string("object")),
                (key: "properties", value: .object([(key: "name", value: .object([(key: "const", value: .string(tool.name))])),
                                                    (key: "arguments", value: tool.parameters)] + (withID ? [(key: "id", value: id)] : []))),
                (key: "required", value: .array([.string("name"), .string("arguments")])),
                (key: "additionalProperties", value: .bool(false)),
            ])
        }
        return .object([(key: "anyOf", value: .array(forms))])
    }

    /// The GBNF rules of `schema`, its root rule renamed `root` (nil: left out).
    private static func rules(of schema: JSONValue, root: String?) throws -> String {
        let gbnf = try JSONSchemaGrammar(schema: schema.pythonText).gbnf
        return gbnf.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("root ::= ") else { return String(line) }
            return root.map { $0 + " ::= " + line.dropFirst(9) }
        }.joined(separator: "\n") + "\n"
    }

    /// A marker such as `</tool_call>` in GBNF: its token where the vocabulary has it as a control token
    /// (which has no text to match), else its text.
    private static func marker(_ text: String, _ tokenizer: Tokenizer) -> String {
        if let id = tokenizer.tokenID(for: text), tokenizer.isControl(id) { return "<[\(id)]>" }
        return JSONSchemaGrammar.literal(text)
    }
}
