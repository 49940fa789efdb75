import MagiChat
import MagiEngine
import MagiSchema

/// A `POST /v1/chat/completions` or `/v1/completions` request, read and checked: what the engine
/// must generate, how, and how the answer goes back.
struct CompletionRequest {
    /// The chat to answer, or nil for a plain completion of ``prompt``.
    var conversation: Conversation?
    /// The text to complete (`/v1/completions`).
    var prompt: String?
    var model: String?
    var sampling: SamplingParameters
    var maxTokens: Int?
    /// The answer ends before the first of these (which is left out).
    var stops: [String]
    var stream: Bool
    /// `stream_options.include_usage`: a last chunk with the token counts.
    var streamUsage: Bool
    /// The whole answer's grammar (`response_format`, or llama.cpp's `grammar` extension).
    var responseFormat: Grammar?
    /// `tool_choice`: `required` or a named function.
    var requiresToolCall: Bool

    /// Reads a chat-completions request; sampling not given comes from `defaults`.
    ///
    /// - Throws: ``OpenAIFormatError`` naming the field at fault.
    init(chat json: JSONValue, defaults: SamplingParameters) throws(OpenAIFormatError) {
        try self.init(common: json, defaults: defaults)
        var tools = try OpenAIWireFormat.tools(from: json["tools"])
        requiresToolCall = false
        switch json["tool_choice"] {
        case nil, .null?, .string("auto")?: break
        case .string("none")?: tools = []
        case .string("required")?:
            guard !tools.isEmpty else { throw .init(param: "tool_choice", "'tool_choice' is 'required' but no tools were given") }
            requiresToolCall = true
        case let choice? where choice["function"]?["name"]?.string != nil:
            let name = choice["function"]!["name"]!.string!
            guard let tool = tools.first(where: { $0.name == name }) else {
                throw .init(param: "tool_choice", "'tool_choice' names '\(name)', which is not among the tools")
            }
            tools = [tool]
            requiresToolCall = true
        default:
            throw .init(param: "tool_choice", "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": …}}")
        }
        conversation = Conversation(messages: try OpenAIWireFormat.messages(from: json["messages"]), tools: tools)
        responseFormat = try Self.grammar(for: json["response_format"])
        if responseFormat == nil { responseFormat = try Self.grammar(gbnf: json["grammar"]) }
    }

    /// Reads a legacy completions request (`prompt`, 16 tokens unless `max_tokens` says otherwise).
    ///
    /// - Throws: ``OpenAIFormatError`` naming the field at fault.
    init(completion json: JSONValue, defaults: SamplingParameters) throws(OpenAIFormatError) {
        try self.init(common: json, defaults: defaults)
        switch json["prompt"] {
        case .string(let text)?: prompt = text
        case .array(let items)? where items.count == 1 && items[0].string != nil: prompt = items[0].string
        case .array?: throw .init(param: "prompt", "'prompt' must be one string (batches of prompts are not supported)")
        default: throw .init(param: "prompt", "'prompt' must be a string")
        }
        if json["max_tokens"] == nil { maxTokens = 16 }
        responseFormat = try Self.grammar(gbnf: json["grammar"])
    }

    /// The JSON type of each field OpenAI (or llama.cpp, for its extensions) defines, checked for
    /// every request whatever magi does with the field; `null` passes as "not given".
    private static let fieldTypes: [String: String] = [
        "model": "string", "stream": "boolean", "logprobs": "boolean", "top_logprobs": "integer", "user": "string",
        "top_k": "integer", "min_p": "number", "repeat_penalty": "number", "repeat_last_n": "integer", "temperature": "number",
        "top_p": "number", "presence_penalty": "number", "frequency_penalty": "number", "seed": "integer", "max_tokens": "integer",
        "max_completion_tokens": "integer", "n": "integer", "stream_options": "object", "logit_bias": "object",
        "parallel_tool_calls": "boolean", "response_format": "object", "grammar": "string", "echo": "boolean",
        "suffix": "string", "metadata": "object", "store": "boolean", "messages": "array", "tools": "array",
    ]

    /// Checks every known field's JSON type (`integer` also accepts `number` kinds with no fraction).
    private static func checkTypes(of json: JSONValue) throws(OpenAIFormatError) {
        for (key, value) in json.members ?? [] where value != .null {
            guard let expected = fieldTypes[key] else { continue }
            let kind = value.typeName
            guard kind == expected || (expected == "number" && kind == "integer") else {
                throw .init(param: key, "'\(key)' must be \(Self.article(expected)) \(expected), not \(Self.article(kind)) \(kind)")
            }
        }
        if let include = json["stream_options"]?["include_usage"], include != .null, include.bool == nil {
            throw .init(param: "stream_options.include_usage", "'stream_options.include_usage' must be a boolean")
        }
    }

    private static func article(_ type: String) -> String { ["integer", "array", "object"].contains(type) ? "an" : "a" }

    private init(common json: JSONValue, defaults: SamplingParameters) throws(OpenAIFormatError) {
        guard json.members != nil else { throw .init(param: nil, "the request body must be a JSON object") }
        try Self.checkTypes(of: json)
        model = json["model"]?.string
        sampling = defaults
        sampling.seed = UInt64.random(in: 0...UInt64.max)
        if json["logprobs"]?.bool == true { throw .init(param: "logprobs", "'logprobs' is not supported by this server") }
        for setting in SamplingSetting.allCases {
            guard let v = json[setting.name], v != .null, let value = v.number else { continue }
            guard setting.accepts(value) else { throw .init(param: setting.name, "'\(setting.name)' must be \(setting.requirement)") }
            setting.set(value, in: &sampling)
        }
        if let s = json["seed"], s != .null {
            guard let value = s.integer else { throw .init(param: "seed", "'seed' must be an integer that fits in 64 bits") }
            sampling.seed = UInt64(bitPattern: Int64(value))
        }
        for key in ["max_completion_tokens", "max_tokens"] {
            guard let v = json[key], v != .null else { continue }
            guard let value = v.integer, value >= 1 else { throw .init(param: key, "'\(key)' must be a positive integer") }
            maxTokens = value
            break
        }
        if let n = json["n"], n != .null, n.integer != 1 { throw .init(param: "n", "only n = 1 is supported") }
        switch json["stop"] {
        case nil, .null?: stops = []
        case .string(let s)?: stops = [s]
        case .array(let items)? where items.allSatisfy({ $0.string?.isEmpty == false }) && items.count <= 4: stops = items.compactMap(\.string)
        default: throw .init(param: "stop", "'stop' must be a string or up to 4 non-empty strings")
        }
        stream = json["stream"]?.bool ?? false
        streamUsage = json["stream_options"]?["include_usage"]?.bool ?? false
        responseFormat = nil
        requiresToolCall = false
    }

    /// The GBNF grammar of llama.cpp's `grammar` extension, if given.
    private static func grammar(gbnf: JSONValue?) throws(OpenAIFormatError) -> Grammar? {
        guard let gbnf, gbnf != .null else { return nil }
        guard let text = gbnf.string else { throw .init(param: "grammar", "'grammar' must be a GBNF grammar as a string") }
        do { return try Grammar(gbnf: text) } catch { throw .init(param: "grammar", "grammar: \(error)") }
    }

    /// The grammar `response_format` asks for: any JSON object, or a JSON Schema's instances.
    private static func grammar(for format: JSONValue?) throws(OpenAIFormatError) -> Grammar? {
        guard let format, format != .null else { return nil }
        do {
            switch format["type"]?.string {
            case "text": return nil
            case "json_object": return try Grammar(gbnf: JSONSchemaGrammar(schema: #"{"type": "object"}"#).gbnf)
            case "json_schema":
                guard let schema = format["json_schema"]?["schema"] else {
                    throw OpenAIFormatError(param: "response_format.json_schema.schema", "'response_format.json_schema.schema' is missing")
                }
                return try Grammar(gbnf: JSONSchemaGrammar(schema: schema.compactText).gbnf)
            default:
                throw OpenAIFormatError(param: "response_format.type", "'response_format.type' must be text, json_object or json_schema")
            }
        } catch let error as OpenAIFormatError {
            throw error
        } catch {
            throw .init(param: "response_format", "response_format: \(error)")
        }
    }
}
