import Foundation
@testable import MagiEngine
import MagiSchema
import MagiJSON
import MagiTokenizer
import Testing

/// The Python oracles (`jsonschema`, `lark` in the venv `scripts/setup --oracles` makes) and the scripts
/// in Fixtures/ that drive them: one process per test checks every output, fed as JSON lines.
enum CorpusOracle {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// `MAGI_PYTHON`, else the oracle venv's python.
    static var python: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["MAGI_PYTHON"] ?? TestEnvironment.magiHome + "/venv/bin/python"
    }

    /// `MAGI_SHOW_OUTPUTS=1` prints every sampled output.
    static var showOutputs: Bool { ProcessInfo.processInfo.environment["MAGI_SHOW_OUTPUTS"] != nil }

    /// `MAGI_CORPUS_ONLY=TEXT` samples only the entries whose name contains TEXT (while working on them).
    static func selected(_ name: String) -> Bool {
        ProcessInfo.processInfo.environment["MAGI_CORPUS_ONLY"].map { name.contains($0) } ?? true
    }

    /// In CI every test runs, so a missing model or package fails instead of skipping.
    static let hasJSONSchema = TestEnvironment.isCI || imports("jsonschema")
    static let hasLark = TestEnvironment.isCI || imports("lark")

    private static func imports(_ module: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import \(module)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Runs `script` (in Fixtures/) once with `lines` as JSON lines on stdin; returns one object per line.
    static func run(_ script: String, lines: [String]) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [fixtures + "/" + script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        signal(SIGPIPE, SIG_IGN) // a script that dies early must fail the test, not end the test process
        try process.run()
        // Writing on another thread, so a full stdout pipe cannot deadlock against a full stdin pipe.
        let payload = Data(lines.map { $0 + "\n" }.joined().utf8)
        let writer = Thread {
            try? input.fileHandleForWriting.write(contentsOf: payload)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let stdoutData = output.fileHandleForReading.readDataToEndOfFile()
        let stderrData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(script) exited with \(process.terminationStatus): \(String(decoding: stderrData, as: UTF8.self))")
        }
        let results = try String(decoding: stdoutData, as: UTF8.self).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        guard results.count == lines.count else {
            throw Failure(description: "\(script) answered \(results.count) lines for \(lines.count)")
        }
        return results
    }
}

/// SmolLM2 sampling with or without a grammar, on one session (prompts reuse the cached prefix).
struct CorpusGenerator {
    let tokenizer: Tokenizer
    let trie: TokenTrie
    let session: InferenceSession
    let stops: Set<Int32>

    init(contextSize: Int) throws {
        tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: GGUFFile(path: TestEnvironment.modelPath)))
        trie = TokenTrie(tokenizer: tokenizer)
        session = InferenceSession(model: try LlamaModel(path: TestEnvironment.modelPath), contextSize: contextSize, threads: 2)
        stops = Set((0..<Int32(tokenizer.vocabularySize)).filter(tokenizer.isEndOfGeneration))
    }

    func chat(system: String, user: String) -> [Int32] {
        tokenizer.encode("<|im_start|>system\n\(system)<|im_end|>\n<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n",
                         addSpecial: false)
    }

    /// Samples at temperature 0.8 (top-k 40, top-p 0.95, min-p 0.05) with `seed`.
    /// `giveUp`, asked before each token with the text so far, ends the generation early (reason `.cancelled`).
    func generate(_ prompt: [Int32], grammar: Grammar?, seed: UInt64, maxTokens: Int,
                  giveUp: ((String) -> Bool)? = nil) throws -> (text: String, summary: GenerationSummary) {
        var parameters = SamplingParameters()
        parameters.temperature = 0.8
        parameters.seed = seed
        var sampler = Sampler(parameters)
        if let grammar { sampler.prepend(GrammarConstraint(grammar: grammar, trie: trie)) }
        var out: [Int32] = []
        let request = GenerationRequest(prompt: prompt, sampling: parameters, maxTokens: maxTokens, stopTokens: stops)
        let summary = try session.runGeneration(request, sampler: sampler, shouldStop: { giveUp?(tokenizer.decode(out)) ?? false }) {
            out.append($0)
        }
        return (tokenizer.decode(out), summary)
    }
}

/// Structured output a small model cannot get wrong: 30 JSON Schemas of the kinds people use, sampled with
/// SmolLM2 at temperature 0.8 under three seeds, every output checked by Python's `jsonschema` (Draft
/// 2020-12), independent of the grammar engine. The same prompts without the constraint show what the
/// constraint buys.
@Suite(.serialized) struct SchemaCorpusTests {
    struct Entry {
        let name: String
        let prompt: String
        /// The schema as written in the file (key order kept: properties are generated in it).
        let schema: String
    }

    static let seeds: [UInt64] = [1, 2, 3]
    static let maxTokens = 160

    static let corpus: [Entry] = {
        let folder = CorpusOracle.fixtures + "/schemas"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return files.map { file in
            let text = (try? String(contentsOfFile: folder + "/" + file, encoding: .utf8)) ?? ""
            let document = (try? JSONValue(parsing: text)) ?? .null
            return Entry(name: String(file.dropLast(5)), prompt: document["prompt"]?.string ?? "", schema: document["schema"]?.compactText ?? "")
        }
    }()

    static func userMessage(_ entry: Entry) -> String {
        entry.prompt + "\nAnswer with JSON only, matching this JSON Schema: " + entry.schema
    }

    static let system = "You answer in JSON."

    struct Output {
        let entry: Entry
        let seed: UInt64
        let text: String
        let summary: GenerationSummary

        var finished: Bool { summary.reason == .endOfGeneration }
        var id: String { "\(entry.name) seed \(seed)" }

        var validationRequest: String {
            #"{"id":\#(JSONValue.quoted(id)),"schema":\#(entry.schema),"output":\#(JSONValue.quoted(text))}"#
        }
    }

    /// For every schema and seed, an output sampled under the schema's grammar and one sampled freely, and
    /// the seconds each kind took. Both come from one session, so each prompt is evaluated once.
    static func sample() throws -> (constrained: [Output], free: [Output], seconds: (constrained: Double, free: Double)) {
        let generator = try CorpusGenerator(contextSize: 1024)
        let clock = ContinuousClock()
        var constrained: [Output] = [], free: [Output] = [], seconds = (constrained: 0.0, free: 0.0)
        for entry in corpus where CorpusOracle.selected(entry.name) {
            let grammar = try JSONSchemaGrammar(schema: entry.schema).grammar()
            let prompt = generator.chat(system: system, user: userMessage(entry))
            for seed in seeds {
                var start = clock.now
                let c = try generator.generate(prompt, grammar: grammar, seed: seed, maxTokens: maxTokens)
                constrained.append(Output(entry: entry, seed: seed, text: c.text, summary: c.summary))
                seconds.constrained += (clock.now - start).seconds
                start = clock.now
                let f = try generator.generate(prompt, grammar: nil, seed: seed, maxTokens: maxTokens, giveUp: cannotBeJSON)
                free.append(Output(entry: entry, seed: seed, text: f.text, summary: f.summary))
                seconds.free += (clock.now - start).seconds
            }
        }
        return (constrained, free, seconds)
    }

    @Test func theCorpusHasThirtySchemasThatAllConvert() throws {
        #expect(Self.corpus.count == 30)
        for entry in Self.corpus {
            #expect(!entry.prompt.isEmpty && !entry.schema.isEmpty, "\(entry.name) is not {\"prompt\": ..., \"schema\": ...}")
            #expect(throws: Never.self, "\(entry.name)") { _ = try JSONSchemaGrammar(schema: entry.schema).grammar() }
        }
    }

    /// Schemas people write that the converter does not enforce: refused with a message naming the keyword and
    /// where it is, never generated more loosely than written.
    @Test(arguments: [
        (#"{"type": "object", "properties": {"temperature": {"type": "number", "multipleOf": 0.5}}, "required": ["temperature"]}"#,
         "JSON schema keyword 'multipleOf' at /properties/temperature is not supported"),
        (#"{"type": "object", "properties": {"to": {"type": "string", "format": "email"}}, "required": ["to"]}"#,
         "JSON schema keyword 'format' at /properties/to: \"email\" is not supported (only date, time, date-time, uuid)"),
        (#"{"type": "array", "items": {"type": "string", "maxLength": 10}, "uniqueItems": true, "maxItems": 3}"#,
         "JSON schema keyword 'uniqueItems' at / is not supported"),
        (##"{"$defs": {"base": {"type": "object", "properties": {"id": {"type": "integer"}}}}, "allOf": [{"$ref": "#/$defs/base"}, {"required": ["id"]}]}"##,
         "JSON schema keyword 'allOf' at / is not supported"),
    ])
    func unsupportedKeywordsAreRefusedWithAClearMessage(schema: String, message: String) {
        do {
            _ = try JSONSchemaGrammar(schema: schema)
            Issue.record("accepted a schema it cannot enforce: \(schema)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    /// Schemas the converter once enforced more loosely than written (each grammar accepted a text
    /// `jsonschema` rejects), and their neighbours: every grammar accepts exactly the texts here that
    /// `jsonschema` accepts, which ``jsonschemaAgreesWithTheFormerlyLooseCases()`` checks.
    static let exactlyEnforced: [(what: String, schema: String, accepts: [String], rejects: [String])] = [
        ("keywords beside anyOf apply to every branch",
         #"{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}"#,
         [#"{"a": 1}"#, #"{"b": 2}"#, #"{"a": 1, "b": 2}"#, #"{"b": 2, "a": 1}"#],
         [#""not an object""#, "{}", #"{"a": "1"}"#, #"{"b": 2, "a": "1"}"#, "[1]"]),
        ("string keywords beside anyOf apply to every branch",
         #"{"type": "string", "maxLength": 3, "anyOf": [{"minLength": 3}, {"const": "x"}, {"type": "integer"}]}"#,
         [#""abc""#, #""x""#], [#""abcdef""#, #""ab""#, #""y""#, "5"]),
        ("keywords beside oneOf apply to every branch",
         #"{"type": "string", "maxLength": 3, "oneOf": [{"pattern": "^a"}, {"pattern": "^b"}]}"#,
         [#""a""#, #""abc""#, #""b""#, #""bcd""#], [#""abcdef""#, #""abcd""#, #""c""#, #""""#]),
        ("oneOf whose branches the keywords beside make exclusive",
         #"{"type": "string", "maxLength": 3, "oneOf": [{"const": "a"}, {"minLength": 2}]}"#,
         [#""a""#, #""ab""#, #""abc""#], [#""abcd""#, #""b""#, #""""#, "1"]),
        ("lengths beside an anchored pattern", #"{"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 3}"#,
         [#""ab""#, #""abc""#], [#""a""#, #""abcd""#, #""aB""#]),
        ("a minimum length beside an unanchored pattern", #"{"type": "string", "pattern": "b", "minLength": 3}"#,
         [#""abc""#, #""bbb""#, #""xxb""#, #""bxxxxxx""#], [#""ab""#, #""aaa""#, #""aaaa""#]),
        ("lengths beside a pattern, without a type", #"{"pattern": "x.", "maxLength": 3}"#,
         [#""xa""#, #""axb""#, #""xyz""#, "5", "[]"], [#""x""#, #""abxy""#, #""abc""#, #""xa\nb""#]),
        ("anyOf and oneOf in one schema both apply",
         #"{"anyOf": [{"type": "string"}, {"type": "integer"}], "oneOf": [{"const": "s"}, {"const": 1}, {"const": true}]}"#,
         [#""s""#, "1"], ["true", #""t""#, "2"]),
        ("minItems alone constrains arrays only", #"{"minItems": 2}"#,
         ["[1, 2]", "[1, 2, 3]", #""x""#, "5", "{}", "null", "true"], ["[1]", "[]"]),
        ("required alone constrains objects only", #"{"required": ["a"]}"#,
         [#"{"a": 1}"#, #"{"a": [null]}"#, "[]", #""s""#, "0"], ["{}", #"{"b": 1}"#]),
        ("keywords of several types without a type", #"{"maxLength": 2, "properties": {"a": {"type": "integer"}}, "maxItems": 1}"#,
         [#""ab""#, "3", #"{"a": 1}"#, "{}", "[7]", "false"], [#""abc""#, #"{"a": "x"}"#, "[1, 2]"]),
        ("oneOf over types that cannot overlap", #"{"oneOf": [{"type": "string"}, {"type": "object"}, {"type": "integer"}]}"#,
         [#""s""#, "{}", "7"], ["1.5", "null", "[]"]),
        ("oneOf over distinct constants", #"{"oneOf": [{"const": 1}, {"enum": [2, "two"]}, {"type": "string", "minLength": 4}]}"#,
         ["1", "2", #""two""#, #""three""#], ["3", #""one""#]),
        ("oneOf over objects told apart by a required const property",
         #"{"oneOf": [{"type": "object", "properties": {"k": {"const": "a"}, "x": {"type": "integer"}}, "required": ["k"]}, {"type": "object", "properties": {"k": {"const": "b"}}, "required": ["k"], "additionalProperties": false}]}"#,
         [#"{"k": "a"}"#, #"{"k": "a", "x": 1}"#, #"{"k": "b"}"#], [#"{"k": "c"}"#, "{}", #"{"k": "b", "x": 1}"#]),
        ("enum beside type keeps the values of that type", #"{"type": "integer", "enum": [1, "one"]}"#,
         ["1"], [#""one""#, "2"]),
        ("enum beside string keywords keeps the values they allow", #"{"type": "string", "maxLength": 2, "enum": ["ab", "abc", 1]}"#,
         [#""ab""#], [#""abc""#, "1"]),
        ("an integral enum value is an integer", #"{"type": "integer", "enum": [1.0, 2.5]}"#, ["1.0"], ["2.5", "2"]),
        ("enum beside a pattern", #"{"type": ["string", "null"], "pattern": "^[a-z]+$", "enum": ["abc", "ABC", null]}"#,
         [#""abc""#, "null"], [#""ABC""#]),
        ("'.' in a pattern matches no line break", #"{"type": "string", "pattern": "^.{1,5}$"}"#,
         [#""abcde""#, #""a\tb""#, #""a\"b""#, #""\ud83d\ude00""#],
         [#""a\nb""#, #""a\u000Ab""#, #""""#, #""abcdef""#]),
        (#"'\W' in a pattern matches no Unicode letter"#, #"{"type": "string", "pattern": "^\\W$"}"#,
         [#""!""#, #"" ""#], [#""é""#, #""a""#, #""_""#]),
        (#"'\S' in a pattern matches no Unicode space"#, #"{"type": "string", "pattern": "^\\S+$"}"#,
         [#""aé""#], ["\"a\u{A0}b\"", "\"a\u{3000}b\""]),
        ("minLength counts a surrogate-pair escape as one character", #"{"type": "string", "minLength": 2}"#,
         [#""ab""#, #""\ud83d\ude00x""#, #""😀x""#], [#""\ud83d\ude00""#, #""😀""#]),
        ("maxLength counts a surrogate-pair escape as one character", #"{"type": "string", "maxLength": 1}"#,
         [#""\ud83d\ude00""#, #""😀""#, #""\u00e9""#], [#""ab""#, #""\ud83d\ude00x""#]),
    ]

    static let oneOfOverlap = "can match the same value, and a grammar cannot require that only one matches; use anyOf, "
        + "or make the branches exclusive (different types, or different const values of a required property)"

    /// Schemas that cannot be enforced exactly, refused with a message naming the keyword and where it
    /// is; each text is one `jsonschema` rejects that a looser grammar accepted.
    static let refused: [(what: String, schema: String, text: String, message: String)] = [
        ("oneOf whose branches overlap (integer ⊂ number)", #"{"oneOf": [{"type": "integer"}, {"type": "number"}]}"#, "5",
         "JSON schema keyword 'oneOf' at /: branches 0 and 1 " + oneOfOverlap),
        ("oneOf whose const is an integer", #"{"properties": {"n": {"oneOf": [{"const": 1.0}, {"type": "integer"}]}}}"#, #"{"n": 1}"#,
         "JSON schema keyword 'oneOf' at /properties/n: branches 0 and 1 " + oneOfOverlap),
        ("oneOf over objects that may both match",
         #"{"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "object", "properties": {"b": {"type": "string"}}}]}"#,
         "{}", "JSON schema keyword 'oneOf' at /: branches 0 and 1 " + oneOfOverlap),
        ("two patterns for one string", #"{"type": "string", "pattern": "^a", "anyOf": [{"pattern": "b$"}, {"maxLength": 1}]}"#, #""ac""#,
         "JSON schema keyword 'pattern' at /anyOf/0: two different patterns for one string cannot be combined"),
        ("a pattern too long to count its characters",
         #"{"type": "string", "pattern": "^(a{100}){100}$", "maxLength": 5}"#, #""aaaaaa""#,
         "JSON schema keyword 'pattern' at /pattern: with minLength / maxLength beside it, makes a grammar of more than 4096 rules"),
        ("enum values that the type beside them all excludes", #"{"type": "integer", "enum": ["one", 1.5]}"#, #""one""#,
         "JSON schema keyword 'schema' at /: a schema that accepts nothing cannot be generated"),
    ]

    @Test func formerlyLooseSchemasAreEnforcedExactlyOrRefused() throws {
        for c in Self.exactlyEnforced {
            let converted = try JSONSchemaGrammar(schema: c.schema)
            let matcher = GrammarMatcher(grammar: try converted.grammar())
            for text in c.accepts { #expect(matcher.matches(text), "\(c.what): should accept \(text) under \(c.schema)\n\(converted.gbnf)") }
            for text in c.rejects { #expect(!matcher.matches(text), "\(c.what): should reject \(text) under \(c.schema)\n\(converted.gbnf)") }
        }
        for c in Self.refused {
            do {
                _ = try JSONSchemaGrammar(schema: c.schema)
                Issue.record("\(c.what): accepted a schema it cannot enforce: \(c.schema)")
            } catch {
                #expect("\(error)" == c.message, "\(c.what)")
            }
        }
    }

    /// `jsonschema` (Draft 2020-12) accepts every text the cases above accept, and rejects the others.
    @Test(.enabled(if: CorpusOracle.hasJSONSchema)) func jsonschemaAgreesWithTheFormerlyLooseCases() throws {
        var cases: [(what: String, schema: String, text: String, valid: Bool)] = []
        for c in Self.exactlyEnforced {
            cases += c.accepts.map { (c.what, c.schema, $0, true) } + c.rejects.map { (c.what, c.schema, $0, false) }
        }
        cases += Self.refused.map { ($0.what, $0.schema, $0.text, false) }
        let lines = cases.map { #"{"id":\#(JSONValue.quoted($0.what)),"schema":\#($0.schema),"output":\#(JSONValue.quoted($0.text))}"# }
        let verdicts = try CorpusOracle.run("validate_json.py", lines: lines)
        for (c, verdict) in zip(cases, verdicts) {
            #expect(verdict["parsed"] as? Bool == true, "\(c.what): \(c.text) is not JSON")
            #expect(verdict["valid"] as? Bool == c.valid, "\(c.what): jsonschema \(c.valid ? "rejects" : "accepts") \(c.text) under \(c.schema)")
        }
    }

    /// Every output sampled under a schema parses and validates, none cut short by the token cap. The same
    /// prompts (the schema spelled out in them), temperature and seeds without the constraint give the rate
    /// printed: there too the whole output must be the JSON text; free sampling stops as soon as the text
    /// cannot become one (``cannotBeJSON(_:)``), which changes no verdict.
    @Test(.enabled(if: TestEnvironment.hasModel && CorpusOracle.hasJSONSchema))
    func everyConstrainedOutputValidatesWhereFreeOnesMostlyFail() throws {
        let (constrained, free, seconds) = try Self.sample()
        let results = try CorpusOracle.run("validate_json.py", lines: (constrained + free).map(\.validationRequest))
        let (constrainedResults, freeResults) = (results.prefix(constrained.count), results.dropFirst(constrained.count))
        var valid = 0
        for (output, result) in zip(constrained, constrainedResults) {
            if output.finished && result["valid"] as? Bool == true { valid += 1 }
            #expect(output.finished, "\(output.id) hit the \(Self.maxTokens)-token cap: \(output.text.debugDescription)")
            #expect(result["valid"] as? Bool == true, "\(output.id): \(result["error"] ?? "") in \(output.text.debugDescription)")
        }
        let freeValid = freeResults.filter { $0["valid"] as? Bool == true }.count
        let parsedButInvalid = freeResults.filter { $0["parsed"] as? Bool == true && $0["valid"] as? Bool == false }.count
        let stopped = { (reason: StopReason) in free.filter { $0.summary.reason == reason }.count }
        print("schema corpus, constrained: \(valid)/\(constrained.count) valid (\(percent(valid, constrained.count))); "
              + timing(constrained.map(\.summary), seconds: seconds.constrained))
        print("schema corpus, unconstrained: \(freeValid)/\(free.count) valid (\(percent(freeValid, free.count))); "
              + "\(parsedButInvalid) JSON that breaks the schema, \(free.count - freeValid - parsedButInvalid) not JSON "
              + "(\(stopped(.cancelled)) given up early, \(stopped(.maxTokens)) at the token cap); "
              + timing(free.map(\.summary), seconds: seconds.free))
        if CorpusOracle.showOutputs {
            for (output, result) in zip(constrained + free, results) {
                print(output.id, output.summary.generatedTokens, result["valid"] ?? "", result["error"] ?? "", output.text.debugDescription)
            }
        }
        #expect(freeValid < free.count, "a model this small is expected to get some schemas wrong unconstrained")
    }

    @Test func givingUpOnFreeOutputNeverCutsAJSONText() {
        for text in ["", "  ", "{", "[1, {\"a\": \"}]\\\"\"", "{\"a\": 1}", "{\"a\": 1}\n \t", "\"str", "-1", "true", "[]"] {
            #expect(!cannotBeJSON(text), "\(text.debugDescription)")
        }
        for text in ["Sure", "```json\n{", "{\"a\": 1}\nThat", "[1]]", "{}{"] {
            #expect(cannotBeJSON(text), "\(text.debugDescription)")
        }
    }
}

/// Whether `text` can no longer become one JSON text followed only by white space: it starts with a
/// character no JSON value starts with, or something other than white space follows a closed top-level
/// object or array. A quick scan of brackets and strings, not a parser: it never gives up on a text that
/// could still be valid JSON.
func cannotBeJSON(_ text: String) -> Bool {
    let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
    var bytes = Array(text.utf8)[...]
    while let b = bytes.first, whitespace.contains(b) { bytes = bytes.dropFirst() }
    guard let first = bytes.first else { return false }
    guard Array("{[\"-0123456789tfn".utf8).contains(first) else { return true }
    guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { return false }
    var depth = 0, inString = false, escaped = false, closed = false
    for b in bytes {
        if closed { if !whitespace.contains(b) { return true }; continue }
        if inString {
            if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            continue
        }
        switch b {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            closed = depth == 0
        default: break
        }
    }
    return false
}

/// Where the seconds went: the prompts' prefill and the decoding.
func timing(_ summaries: [GenerationSummary], seconds: Double) -> String {
    let f = { (x: Double) in String(format: "%.1f", x) }
    let prompt = summaries.map(\.promptTokens).reduce(0, +), generated = summaries.map(\.generatedTokens).reduce(0, +)
    return "\(f(seconds)) s: prefill \(prompt) tokens in \(f(summaries.map(\.promptSeconds).reduce(0, +))) s, "
        + "decode \(generated) tokens in \(f(summaries.map(\.generationSeconds).reduce(0, +))) s"
}

func percent(_ part: Int, _ whole: Int) -> String {
    String(format: "%.1f%%", whole == 0 ? 0 : 100 * Double(part) / Double(whole))
}

