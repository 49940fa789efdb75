import Foundation
@testable import MagiEngine
import MagiSchema
import MagiJSON
import Testing

/// `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum`, `format`, argument-less objects and
/// the nesting limit, each grammar checked against `jsonschema` (Draft 2020-12, formats asserted) on a
/// corpus of values: integers exactly, numbers and formats never more loosely than the schema.
@Suite struct JSONSchemaKeywordTests {
    /// A verdict of the grammar and of jsonschema on one value.
    struct Case {
        let schema: String
        let text: String
        let accepted: Bool
    }

    /// Every text under every schema, judged by the grammar and by jsonschema (in one oracle process).
    static func judge(_ schemas: [String], _ texts: [String]) throws -> [(Case, valid: Bool)] {
        var cases: [Case] = []
        for schema in schemas {
            // A schema no value satisfies has no grammar (an error): it accepts nothing.
            let matcher = (try? JSONSchemaGrammar(schema: schema).grammar()).map { GrammarMatcher(grammar: $0) }
            cases += texts.map { Case(schema: schema, text: $0, accepted: matcher?.matches($0) ?? false) }
        }
        let lines = cases.map { #"{"schema":\#($0.schema),"output":\#(JSONValue.quoted($0.text))}"# }
        let verdicts = try CorpusOracle.run("validate_json.py", lines: lines)
        return zip(cases, verdicts).map { ($0, $1["valid"] as? Bool == true) }
    }

    static let integerBounds: [String] = {
        let pairs: [(Int, Int)] = [(0, 0), (0, 9), (1, 20), (1, 1000), (-5, 5), (-100, -7), (-1, 0), (7, 7), (10, 99), (9, 100),
                                   (-99, 99), (15, 123), (-123, -15), (0, 10), (99, 101), (-3, 250), (19, 91), (100, 199)]
        var schemas = pairs.map { #"{"type":"integer","minimum":\#($0.0),"maximum":\#($0.1)}"# }
        schemas += pairs.map { #"{"type":"integer","exclusiveMinimum":\#($0.0),"exclusiveMaximum":\#($0.1)}"# }
        schemas += [#"{"type":"integer","minimum":-12}"#, #"{"type":"integer","maximum":37}"#, #"{"type":"integer","exclusiveMinimum":0}"#,
                    #"{"type":"integer","exclusiveMaximum":-50}"#, #"{"type":"integer","minimum":2.5,"maximum":17.5}"#,
                    #"{"type":"integer","exclusiveMinimum":-2.5,"exclusiveMaximum":1e2}"#, #"{"type":"integer","minimum":-1e300}"#,
                    #"{"type":"integer","minimum":3,"exclusiveMinimum":3,"maximum":60,"exclusiveMaximum":59}"#,
                    #"{"minimum":-4,"maximum":4}"#]
        return schemas
    }()

    /// Integer ranges are exact: over every integer from -130 to 130 (and a few far ones), the grammar
    /// accepts exactly what jsonschema accepts.
    @Test(.enabled(if: CorpusOracle.hasJSONSchema)) func integerBoundsAgreeWithJSONSchemaExhaustively() throws {
        let texts = (-130...130).map(String.init) + ["1000", "1001", "-1000", "99999999", "-99999999", "-0", "007", "1.5", "2.0"]
        let judged = try Self.judge(Self.integerBounds, texts)
        var checked = 0
        for (c, valid) in judged where c.text != "2.0" && c.text != "-0" {
            // jsonschema reads 2.0 and -0 as integers; the grammar writes neither (narrower, never wider).
            #expect(c.accepted == valid, "\(c.schema): grammar \(c.accepted ? "accepts" : "rejects") \(c.text), jsonschema \(valid ? "accepts" : "rejects")")
            checked += 1
        }
        for (c, valid) in judged where c.accepted { #expect(valid, "\(c.schema): grammar accepts \(c.text)") }
        #expect(checked > 11_000)
    }

    /// Numbers: everything the grammar accepts, jsonschema accepts; and the grammar keeps the interior
    /// (integers inside the bounds, and fractions whose whole cell is inside).
    @Test(.enabled(if: CorpusOracle.hasJSONSchema)) func numberBoundsAreNeverLooser() throws {
        let schemas = [#"{"type":"number","minimum":0,"maximum":1000}"#, #"{"type":"number","minimum":0.5,"exclusiveMaximum":2.5}"#,
                       #"{"type":"number","exclusiveMinimum":-3,"maximum":-1}"#, #"{"type":"number","minimum":-2.75,"maximum":2.25}"#,
                       #"{"type":"number","exclusiveMinimum":0}"#, #"{"type":"number","maximum":-0.5}"#,
                       #"{"type":["number","null"],"minimum":1,"maximum":3}"#]
        var texts: [String] = ["null", "-0", "0.0", "-0.0", "1e2", "1E-2", "-1.5e0", "2.5", "-2.5", "1000", "1000.5", "999.99", "0.5"]
        for k in -16...16 { texts += [String(Double(k) / 4), String(k), "\(k).125", "-\(abs(k)).875"] }
        let judged = try Self.judge(schemas, texts)
        for (c, valid) in judged where c.accepted { #expect(valid, "\(c.schema): grammar accepts \(c.text), jsonschema rejects it") }
        let interior: [(String, [String])] = [
            (schemas[0], ["0", "0.5", "999.99", "1000", "17"]), (schemas[1], ["1", "1.5", "2", "1.999"]),
            (schemas[2], ["-2", "-1", "-1.5", "-2.999"]), (schemas[3], ["-2", "-1.75", "0", "1.5", "2"]),
            (schemas[4], ["1", "1.5", "123.25"]), (schemas[5], ["-1", "-1.5", "-700"]), (schemas[6], ["null", "2", "1.5"]),
        ]
        for (schema, texts) in interior {
            let matcher = GrammarMatcher(grammar: try JSONSchemaGrammar(schema: schema).grammar())
            for text in texts { #expect(matcher.matches(text), "\(schema) should accept \(text)") }
        }
    }

    /// Formats: whatever the grammar accepts is valid for jsonschema, everything jsonschema rejects the
    /// grammar rejects, and the narrower spots are only those documented (29 February, years before
    /// 1000, fractions of other than three digits, lowercase `t`/`z`).
    @Test(.enabled(if: CorpusOracle.hasJSONSchema)) func formatsAreNeverLooserThanJSONSchema() throws {
        let schemas = ["date", "time", "date-time", "uuid"].map { #"{"type":"string","format":"\#($0)"}"# }
        let strings = ["2024-01-31", "2023-02-28", "2024-02-29", "2023-02-29", "2024-04-31", "2024-04-30", "2024-13-01", "0999-12-31",
                       "2024-1-01", "1999-12-31", "12:34:56Z", "23:59:59+05:30", "12:34:56.789-01:00", "12:34:56.7Z", "24:00:00Z",
                       "12:60:00Z", "12:34:56", "12:34:56+2:00", "2024-06-01T12:34:56Z", "2024-06-01t12:34:56z",
                       "2024-06-31T12:00:00Z", "2024-06-01 12:34:56Z", "2024-06-01T12:34:56.123+00:00",
                       "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "123e4567e89b12d3a456426614174000",
                       "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456-4266141740001", "", "x"]
        let judged = try Self.judge(schemas, strings.map { JSONValue.quoted($0) })
        let narrower: Set<String> = ["\"2024-02-29\"", "\"0999-12-31\"", "\"12:34:56.7Z\"", "\"2024-06-01t12:34:56z\"", "\"123E4567-E89B-12D3-A456-426614174000\""]
        var accepted = 0
        for (c, valid) in judged {
            if c.accepted { accepted += 1; #expect(valid, "\(c.schema): grammar accepts \(c.text), jsonschema rejects it") }
            if valid && !c.accepted && !narrower.contains(c.text) {
                Issue.record("\(c.schema): grammar rejects \(c.text), which jsonschema accepts")
            }
        }
        #expect(accepted >= 11)
    }

    @Test func unsupportedFormatsAndMalformedBoundsAreRefusedByName() {
        #expect(throws: JSONSchemaError.invalidValue(keyword: "format", path: "/properties/to",
                                                     message: #""email" is not supported (only date, time, date-time, uuid)"#)) {
            try JSONSchemaGrammar(schema: #"{"properties": {"to": {"type": "string", "format": "email"}}}"#)
        }
        #expect(throws: JSONSchemaError.invalidValue(keyword: "minimum", path: "", message: "must be a number")) {
            try JSONSchemaGrammar(schema: #"{"type": "integer", "minimum": "1"}"#)
        }
    }

    /// A tool without arguments, as MCP servers and `llm` describe it, is `{}` and nothing else; an
    /// object without `properties` stays any object.
    @Test func anArgumentlessObjectIsExactlyTheEmptyObject() throws {
        let empty = GrammarMatcher(grammar: try JSONSchemaGrammar(schema: #"{"type": "object", "properties": {}}"#).grammar())
        for text in ["{}", "{ }", "{\n  }"] { #expect(empty.matches(text), "\(text)") }
        for text in [#"{"a": 1}"#, #"{"version": true}"#, "[]"] { #expect(!empty.matches(text), "\(text)") }
        let open = GrammarMatcher(grammar: try JSONSchemaGrammar(schema: #"{"type": "object"}"#).grammar())
        #expect(open.matches(#"{"a": 1}"#))
    }

    /// Every schema magi ships (built-in tools and plugins) compiles.
    @Test func theShippedPluginsSchemasCompile() throws {
        let plugins = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../plugins").standardized
        let folders = try FileManager.default.contentsOfDirectory(atPath: plugins.path).filter {
            FileManager.default.fileExists(atPath: plugins.path + "/" + $0 + "/plugin.json")
        }
        #expect(folders.count >= 3)
        for folder in folders {
            let manifest = try JSONValue(parsing: String(contentsOfFile: plugins.path + "/" + folder + "/plugin.json", encoding: .utf8))
            let parameters = try #require(manifest["parameters"])
            #expect(throws: Never.self, "\(folder)") { try JSONSchemaGrammar(schema: parameters.pythonText).grammar() }
        }
        let sqlite = GrammarMatcher(grammar: try JSONSchemaGrammar(schema: #"{"type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":1000}}}"#).grammar())
        #expect(sqlite.matches(#"{"n": 1000}"#) && !sqlite.matches(#"{"n": 1001}"#) && !sqlite.matches(#"{"n": 0}"#))
    }

    /// Nesting past the limit is one error naming the limit and where; far past it (deeper than JSON
    /// itself nests), one error too, never a crash.
    @Test func deepNestingIsRefusedWithOneLine() throws {
        for (keyword, open, close) in [("items", #"{"type":"array","items":"#, "}"), ("properties", #"{"properties":{"a":"#, "}}"),
                                       ("anyOf", #"{"anyOf":["#, "]}")] {
            let depth = 200
            let schema = String(repeating: open, count: depth) + "{}" + String(repeating: close, count: depth)
            do {
                _ = try JSONSchemaGrammar(schema: schema)
                Issue.record("\(keyword): nesting \(depth) deep was accepted")
            } catch let error as JSONSchemaError {
                guard case .tooDeep(let limit, let path) = error else { Issue.record("\(keyword): \(error)"); continue }
                #expect(limit == JSONSchemaGrammar.maximumNesting)
                #expect(path.hasPrefix("/" + keyword), "\(path)")
                #expect("\(error)".hasPrefix("JSON schema nests deeper than 128 levels at "))
                #expect(!"\(error)".contains("\n"))
            }
        }
        let deep = String(repeating: #"{"items":"#, count: 100_000) + "{}" + String(repeating: "}", count: 100_000)
        #expect(throws: JSONSchemaError.self) { try JSONSchemaGrammar(schema: deep) }
        do { _ = try JSONSchemaGrammar(schema: deep) } catch { #expect(!"\(error)".contains("\n")) }
    }

    /// Big enums compile, each value once (scripts/bench-growth times it at four sizes).
    @Test func aLargeEnumKeepsEveryValueOnce() throws {
        let values = (0..<5_000).map { "\"v\($0)\"" } + ["\"v1\"", "\"v2\""]
        let gbnf = try JSONSchemaGrammar(schema: #"{"enum": [\#(values.joined(separator: ","))]}"#).gbnf
        #expect(gbnf.components(separatedBy: #"\"v1\""#).count == 2)
        let matcher = GrammarMatcher(grammar: try Grammar(gbnf: gbnf))
        #expect(matcher.matches(#""v4999""#) && !matcher.matches(#""v5000""#))
    }
}
