import MagiEngine
import MagiJSON
@testable import MagiSchema
import Testing

/// The validator against Python's `jsonschema` on a corpus of schemas × instances (same verdict for
/// every pair), against the grammar compiled from the same schemas (never looser), and against the
/// grammar compiler's refusals (the same error, word for word).
@Suite struct JSONSchemaValidatorTests {
    /// Schemas (compact JSON) and instances (JSON texts) over the keywords magi reads.
    static let corpus: [(schema: String, instances: [String])] = [
        (#"{"type":"integer","minimum":1,"maximum":20}"#, ["1", "20", "0", "21", "1.0", "1.5", #""3""#, "-7"]),
        (#"{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}"#, ["0", "0.5", "1", "1e-3", "-0.0", "0.999999", #""x""#]),
        (#"{"minimum":2.5,"maximum":1e2}"#, ["2.5", "2.4", "100", "100.5", "1E2", #""a""#, "null"]),
        (#"{"type":["string","null"],"minLength":2,"maxLength":4}"#, [#""ab""#, #""a""#, #""abcde""#, "null", "3", #""héé""#, #""😀😀""#, #""😀""#]),
        (#"{"enum":["m","km",1,null,{"a":1}]}"#, [#""m""#, #""mi""#, "1.0", "null", #"{"a":1}"#, #"{"a":1.0}"#, "[1]", "false"]),
        (#"{"const":{"x":[1,2]}}"#, [#"{"x":[1,2]}"#, #"{"x":[2,1]}"#, #"{"x":[1,2],"y":0}"#, #"{"x":[1.0,2]}"#]),
        (#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, ["-1", "5", "0.5", "-0.5", #""s""#]),
        (#"{"anyOf":[{"type":"string","maxLength":1},{"type":"integer"}]}"#, [#""a""#, #""ab""#, "3", "3.5", "[]"]),
        (#"{"allOf":[{"type":"object","required":["a"]},{"properties":{"a":{"type":"string"}}}]}"#,
         [#"{"a":"x"}"#, #"{"a":1}"#, "{}", #"{"b":1}"#, #"["a"]"#]),
        (#"{"type":"object","properties":{"text":{"type":"string"},"times":{"type":"integer"}},"required":["text"],"additionalProperties":false}"#,
         [#"{"text":"a"}"#, #"{"text":"a","times":2}"#, #"{"times":2}"#, #"{"text":"a","loud":true}"#, #"{"text":3}"#]),
        (#"{"type":"object","properties":{"a":{"type":"integer"}}}"#, [#"{"a":1,"b":"x"}"#, #"{"a":"1"}"#, "{}", "[]"]),
        (#"{"type":"object","additionalProperties":{"type":"number"}}"#, [#"{"x":1}"#, #"{"x":"1"}"#, "{}"]),
        (#"{"properties":{"a":{"type":"string"}},"additionalProperties":{"type":"integer"}}"#,
         [#"{"a":"s","b":2}"#, #"{"a":"s","b":"t"}"#, #"{"a":1}"#, "7"]),
        (#"{"type":"array","items":{"type":"string","maxLength":3},"minItems":1,"maxItems":2}"#,
         [#"["a"]"#, "[]", #"["a","b","c"]"#, #"["abcd"]"#, "[1]"]),
        (#"{"type":"string","format":"date"}"#, [#""2024-02-29""#, #""2023-02-29""#, #""2024-4-01""#, #""2024-04-31""#, #""1999-12-31""#, "5"]),
        (#"{"type":"string","format":"time"}"#, [#""23:59:59.5+01:00""#, #""24:00:00Z""#, #""12:00:00""#, #""12:34:56z""#, #""12:34:56.789-01:00""#]),
        (#"{"type":"string","format":"date-time"}"#,
         [#""2024-06-01T12:00:00Z""#, #""2024-06-01t12:00:00z""#, #""2024-06-01 12:00:00Z""#, #""2024-06-31T12:00:00Z""#]),
        (#"{"type":"string","format":"uuid"}"#,
         [#""123e4567-e89b-12d3-a456-426614174000""#, #""123E4567-E89B-12D3-A456-426614174000""#,
          #""123e4567e89b12d3a456426614174000""#, #""123e4567-e89b-12d3-a456-42661417400g""#]),
        (#"{"type":"string","pattern":"^[a-z]+-[0-9]{2,3}$"}"#, [#""ab-12""#, #""ab-1""#, #""AB-12""#, #""ab-1234""#, #""x ab-12""#]),
        (#"{"pattern":"b+c"}"#, [#""abbcd""#, #""ac""#, "5"]),
        (#"{"type":"string","pattern":"^(ab|cd)*\\.txt$","maxLength":9}"#, [#""abcd.txt""#, #""ab.txt""#, #""abcdab.txt""#, #""abxtxt""#]),
        (##"{"$defs":{"pos":{"type":"integer","minimum":1}},"type":"array","items":{"$ref":"#/$defs/pos"}}"##, ["[1,2]", "[0]", "[]", #"["1"]"#]),
        (#"{"properties":{"a":false}}"#, ["{}", #"{"a":1}"#]),
        (#"{"minItems":2}"#, ["[1]", "[1,2]", #""x""#, "{}"]),
        (#"{"oneOf":[{"properties":{"k":{"const":"a"},"v":{"type":"string"}},"required":["k"]},{"properties":{"k":{"const":"b"},"v":{"type":"integer"}},"required":["k"]}]}"#,
         [#"{"k":"a","v":"s"}"#, #"{"k":"b","v":"s"}"#, #"{"k":"c"}"#, #"{"k":"b","v":2}"#]),
        (#"{"type":"integer"}"#, ["1.0", "1e2", "1.5", #""1""#, "true"]),
        (#"{"type":"string","enum":["a",1]}"#, [#""a""#, "1"]),
        (#"{"anyOf":[{"type":"null"},{"type":"array","items":{"anyOf":[{"type":"boolean"},{"const":0}]}}],"maxItems":2}"#,
         ["null", "[true,0]", "[true,0,false]", "[1]", "[0.0]"]),
    ]

    static var pairs: [(schema: String, instance: String)] {
        corpus.flatMap { entry in entry.instances.map { (entry.schema, $0) } }
    }

    @Test(.enabled(if: SchemaOracle.available)) func verdictsAgreeWithJSONSchema() throws {
        let oracle = try SchemaOracle.verdicts(Self.pairs)
        var disagreements: [String] = []
        for ((schema, instance), expected) in zip(Self.pairs, oracle) {
            let validator = JSONSchemaValidator(schema: try JSONValue(parsing: schema))
            #expect(validator.unsupported == nil, "\(schema): \(String(describing: validator.unsupported))")
            let verdict = validator.accepts(try JSONValue(parsing: instance))
            if verdict != expected { disagreements.append("\(schema) on \(instance): magi \(String(describing: verdict)), jsonschema \(expected)") }
            // A refusal names a place and a reason in one line; an acceptance has none.
            let problem = validator.problem(with: try JSONValue(parsing: instance))
            #expect((problem == nil) == (verdict != false))
            #expect(problem.map { $0.hasPrefix("value") && !$0.contains("\n") } ?? true)
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        #expect(oracle.count == Self.pairs.count && oracle.contains(true) && oracle.contains(false))
    }

    /// What a schema's grammar generates, its validator accepts: the grammar is never looser.
    @Test func theGrammarIsNeverLooserThanTheValidator() throws {
        var compiled = 0
        for (schema, instances) in Self.corpus {
            guard let gbnf = try? JSONSchemaGrammar(schema: schema).gbnf else { continue }
            compiled += 1
            let matcher = GrammarMatcher(grammar: try Grammar(gbnf: gbnf))
            let validator = JSONSchemaValidator(schema: try JSONValue(parsing: schema))
            for instance in instances where matcher.matches(instance) {
                #expect(validator.accepts(try JSONValue(parsing: instance)) == true, "\(schema): the grammar generates \(instance)")
            }
        }
        #expect(compiled >= 20)
    }

    /// The generation-only rule: declared properties bound what the grammar writes, while the
    /// validator follows the schema and allows others.
    @Test func declaredPropertiesBoundOnlyTheGrammar() throws {
        let schema = #"{"type":"object","properties":{"a":{"type":"integer"}}}"#
        let matcher = GrammarMatcher(grammar: try Grammar(gbnf: try JSONSchemaGrammar(schema: schema).gbnf))
        let validator = JSONSchemaValidator(schema: try JSONValue(parsing: schema))
        #expect(matcher.matches(#"{"a":1}"#) && !matcher.matches(#"{"a":1,"b":2}"#))
        #expect(validator.accepts(try JSONValue(parsing: #"{"a":1,"b":2}"#)) == true)
    }

    /// `oneOf` means exactly one on both sides: the grammar refuses branches that can overlap, the
    /// validator rejects a value matching two of them.
    @Test func oneOfMeansExactlyOne() throws {
        let schema = #"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#
        #expect(throws: JSONSchemaError.self) { try JSONSchemaGrammar(schema: schema) }
        let validator = JSONSchemaValidator(schema: try JSONValue(parsing: schema))
        #expect(validator.problem(with: .number("5"), at: "arguments.n")
                == "arguments.n matches more than one of the allowed forms (0 and 1), and must match exactly one")
        #expect(validator.problem(with: .number("-0.5"), at: "arguments.n") == "arguments.n matches none of the allowed forms")
        #expect(validator.accepts(.number("-1")) == true)
    }

    /// A keyword either side cannot read: the grammar refuses the schema, the validator names the same
    /// error and checks the rest.
    @Test func unreadKeywordsAreNamedAlikeOnBothSides() throws {
        let schemas = [
            #"{"type":"object","properties":{"a":{"type":"integer","not":{"const":3}}}}"#,
            #"{"type":"object","properties":{"a":{"type":"integer"},"to":{"type":"string","format":"email"}}}"#,
            #"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string","pattern":"(?=x)"}}}"#,
            #"{"type":"object","properties":{"a":{"type":"integer"}},"uniqueItems":true}"#,
            #"{"type":"object","properties":{"a":{"type":"integer","minimum":"1"}}}"#,
        ]
        for schema in schemas {
            var grammarError: JSONSchemaError?
            do { _ = try JSONSchemaGrammar(schema: schema) } catch let error as JSONSchemaError { grammarError = error }
            let validator = JSONSchemaValidator(schema: try JSONValue(parsing: schema))
            #expect(grammarError != nil && validator.unsupported == grammarError, "\(schema)")
            #expect(validator.problem(with: try JSONValue(parsing: #"{"a":"x"}"#), at: "arguments") == "arguments.a should be integer, not string")
        }
    }

    /// A pattern means the same to the validator as to the grammar compiled from it, escapes and
    /// Unicode included.
    @Test func patternsMatchAsTheirGrammarsDo() throws {
        let patterns = [#"^\d+$"#, #"^\w\W$"#, "^.$", "^[^a]$", #"^\s$"#, #"^\S$"#, #"^[\s\d]$"#, #"^[^\d]$"#, "a|b", "^(ab){2}$",
                        "^x?y*$", #"^"$"#, #"^\\+$"#, "^[a-c-]+$", #"^\D{2,}$"#, #"^[\t\n]$"#, "^[^\\s]$", "é+"]
        let strings = ["1", "123", "a", "ab", "abab", "a!", "é", "ééé", " ", "\t", "\n", "\u{2028}", "\u{A0}", "\"", "\\", "-",
                       "x", "yyy", "xy", "ba", "", "a-c", "١", "\u{1F600}", "\u{1}"]
        for pattern in patterns {
            let grammar = try Grammar(gbnf: try JSONSchemaGrammar(schema: #"{"type":"string","pattern":"# + JSONValue.quoted(pattern) + "}").gbnf)
            let matcher = try #require(try JSONSchemaPattern(pattern, path: "").matcher())
            for string in strings {
                #expect(matcher.matches(string) == GrammarMatcher(grammar: grammar).matches(JSONValue.quoted(string)),
                        "pattern \(pattern) on \(JSONValue.quoted(string))")
            }
        }
    }
}
