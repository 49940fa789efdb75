import Foundation
@testable import MagiEngine
import MagiSchema
import Testing

/// JSON Schema → GBNF, checked by JSON texts the grammar must accept or reject.
@Suite struct GrammarJSONSchemaTests {
    func expect(_ schema: String, accepts good: [String], rejects bad: [String],
                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let converted = try JSONSchemaGrammar(schema: schema)
        let m = GrammarMatcher(grammar: try converted.grammar())
        for s in good { #expect(m.matches(s), "should accept \(s)\n\(converted.gbnf)", sourceLocation: sourceLocation) }
        for s in bad { #expect(!m.matches(s), "should reject \(s)\n\(converted.gbnf)", sourceLocation: sourceLocation) }
    }

    @Test func objectsWithRequiredAndOptionalProperties() throws {
        let schema = #"""
        {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
         "email": {"type": "string"}}, "required": ["name"], "additionalProperties": false}
        """#
        try expect(schema, accepts: [#"{"name": "Ada"}"#, #"{"name":"Ada","age":36}"#, #"{"name": "A", "age": 1, "email": "a@b"}"#,
                                     "{\n  \"name\": \"x\\\"y\\u00e9\"\n}"],
                   rejects: [#"{}"#, #"{"age": 36}"#, #"{"name": "Ada", "extra": 1}"#, #"{"name": 5}"#, #"{"name": "Ada", "age": 3.5}"#,
                             #"{"name": "Ada",}"#])
        try expect(#"{"properties": {"a": {"type": "null"}, "b": {"type": "boolean"}}}"#,
                   accepts: ["{}", #"{"a": null}"#, #"{"b": true}"#, #"{"a": null, "b": false}"#], rejects: [#"{"b": true, "a": null}"#, #"{"a": 1}"#])
    }

    @Test func typesEnumsAndConstants() throws {
        try expect(#"{"type": ["number", "null"]}"#, accepts: ["-1.5e3", "0", "null"], rejects: ["\"1\"", "01", "true"])
        try expect(#"{"enum": ["red", 2, null, "say \"hi\""]}"#, accepts: [#""red""#, "2", "null", #""say \"hi\"""#], rejects: [#""blue""#, "3"])
        try expect(#"{"const": {"a": [1, "x"]}}"#, accepts: [#"{"a":[1,"x"]}"#], rejects: [#"{"a":[1]}"#])
        try expect(#"{"type": "object", "additionalProperties": {"type": "integer"}}"#,
                   accepts: ["{}", #"{"x": 1, "y": 2}"#], rejects: [#"{"x": "1"}"#])
        try expect("{}", accepts: ["[1, {\"a\": [true, null]}]", "\"s\""], rejects: ["[1,]", "nul"])
    }

    @Test func stringLengthsAndPatterns() throws {
        try expect(#"{"type": "string", "minLength": 2, "maxLength": 3}"#, accepts: [#""ab""#, #""a\nc""#, #""日本語""#], rejects: [#""a""#, #""abcd""#])
        try expect(#"{"type": "string", "pattern": "^[A-Z][a-z]+-\\d{2,3}$"}"#, accepts: [#""Abc-12""#, #""Xy-999""#], rejects: [#""abc-12""#, #""Abc-1""#, #""Abc-12x""#])
        try expect(#"{"type": "string", "pattern": "(cat|dog)s?"}"#, accepts: [#""cats""#, #""hotdog!""#], rejects: [#""cow""#])
        try expect(#"{"type": "string", "pattern": "^[^a\\s]+$"}"#.replacingOccurrences(of: "\\\\s", with: ""), accepts: [#""bcd""#], rejects: [#""bad""#, #""b\"c""#])
        try expect(#"{"type": "string", "pattern": "^a\\.b\"c$"}"#, accepts: [#""a.b\"c""#], rejects: [#""axb\"c""#])
    }

    @Test func arraysWithItemCounts() throws {
        try expect(#"{"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}"#,
                   accepts: ["[1]", "[1, 2, 3]"], rejects: ["[]", "[1, 2, 3, 4]", "[\"a\"]"])
        try expect(#"{"type": "array", "maxItems": 0}"#, accepts: ["[]"], rejects: ["[1]"])
        try expect(#"{"type": "array", "items": {"type": "boolean"}}"#, accepts: ["[]", "[true, false]"], rejects: ["[1]"])
    }

    @Test func alternativesAndReferences() throws {
        let schema = #"""
        {"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
           "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["value"]}},
         "anyOf": [{"$ref": "#/$defs/node"}, {"type": "string", "maxLength": 1}]}
        """#
        try expect(schema, accepts: [#"{"value": 1}"#, #"{"value": 1, "children": [{"value": 2, "children": []}]}"#, #""x""#],
                   rejects: [#"{"children": []}"#, #""xy""#, #"{"value": 1, "children": [{}]}"#])
        try expect(#"{"oneOf": [{"type": "boolean"}, {"type": "integer"}]}"#, accepts: ["true", "7"], rejects: ["\"7\""])
    }

    @Test func keywordsBesideAlternativesAndReferencesAllApply() throws {
        let schema = ##"""
        {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}},
         "required": ["x"], "anyOf": [{"$ref": "#/$defs/point"}, {"type": "string", "enum": ["origin", 0]}]}
        """##
        try expect(schema, accepts: [#"{"x": 1}"#, #"{"x": 1, "y": 2}"#, #""origin""#], rejects: ["{}", #"{"y": 2}"#, "0", #""x""#])
        // Branches the keywords beside them leave empty drop out; items / properties that are false.
        try expect(#"{"type": "string", "anyOf": [{"type": "integer"}, {"maxLength": 1}]}"#, accepts: [#""a""#], rejects: ["1", #""ab""#])
        try expect(#"{"type": "array", "items": false}"#, accepts: ["[]"], rejects: ["[1]"])
        try expect(#"{"type": "object", "properties": {"a": false, "b": {"type": "null"}}}"#,
                   accepts: ["{}", #"{"b": null}"#], rejects: [#"{"a": 1}"#])
        try expect(#"{"type": "object", "required": ["id"]}"#, accepts: [#"{"id": [1]}"#], rejects: ["{}"])
        // Merged objects: a property beside anyOf meets the branch's own schema for it.
        try expect(#"{"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n"], "anyOf": [{"properties": {"n": {"type": "integer"}}}]}"#,
                   accepts: [#"{"n": 2}"#], rejects: [#"{"n": 2.5}"#, "{}"])
        try expect(#"{"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"additionalProperties": false, "properties": {"b": {}}}]}"#,
                   accepts: ["{}", #"{"b": 1}"#], rejects: [#"{"a": "x"}"#])
    }

    @Test func patternsAndLengthsNeverLooserThanPythonOrECMA() throws {
        // Stricter than Python's `re` (which `jsonschema` runs): '.' is ECMA's, without \r, U+2028, U+2029;
        // '\D' and '\W' are ASCII; a lone surrogate escape is no character; an integral enum value is
        // written as listed.
        try expect(#"{"type": "string", "pattern": "^.$"}"#, accepts: [#""a""#, #""😀""#, #""\u00e9""#, #""\u2027""#, #""\u202a""#],
                   rejects: [#""\r""#, #""\u000D""#, "\"\u{2028}\"", #""\u2028""#, #""\u2029""#, #""\ud83d""#])
        try expect(#"{"type": "integer", "enum": [1.0]}"#, accepts: ["1.0"], rejects: ["1"])
        try expect(#"{"type": "string", "pattern": "^\\D+$"}"#, accepts: [#""ab""#], rejects: [#""a1""#, #""٣""#])
        try expect(#"{"type": "string", "pattern": "^[^\\d\\s]+$"}"#, accepts: [#""ab""#], rejects: [#""a1""#, #""a b""#, #""٣""#, #""é""#])
        try expect(#"{"type": "string", "pattern": "^[^,\\s]+$"}"#, accepts: [#""né""#], rejects: [#""a,b""#, "\"a\u{A0}b\""])
        try expect(#"{"type": "string", "maxLength": 2}"#, accepts: [#""\uD83D\uDE00a""#], rejects: [#""\ude00""#, #""\ud83da""#])
    }

    @Test(arguments: [
        (#"{"type": "integer", "multipleOf": 5}"#, JSONSchemaError.unsupportedKeyword("multipleOf", path: "")),
        (#"{"type": "string", "format": "hostname"}"#,
         .invalidValue(keyword: "format", path: "", message: #""hostname" is not supported (only date, time, date-time, uuid)"#)),
        (#"{"properties": {"a": {"allOf": []}}}"#, .unsupportedKeyword("allOf", path: "/properties/a")),
        (#"{"items": {"uniqueItems": true}}"#, .unsupportedKeyword("uniqueItems", path: "/items")),
        (##"{"$ref": "#/$defs/missing"}"##, .unresolvedReference("#/$defs/missing", path: "")),
        (#"{"type": "text"}"#, .invalidValue(keyword: "type", path: "", message: "unknown type 'text'")),
        (#"{"type": "string", "pattern": "^(?=a)"}"#, .invalidValue(keyword: "pattern", path: "/pattern", message: "lookarounds and named groups are not supported (at character 3)")),
        (#"{"type": "object""#, .invalidJSON(offset: 17, message: "unterminated object")),
        (#"{"oneOf": [{"type": "number"}, {"enum": [1, "one"]}]}"#,
         .invalidValue(keyword: "oneOf", path: "", message: "branches 0 and 1 can match the same value, and a grammar cannot require that "
                        + "only one matches; use anyOf, or make the branches exclusive (different types, or different const values of a required property)")),
        (#"{"type": "array", "minItems": 3, "maxItems": 1}"#, .invalidValue(keyword: "schema", path: "", message: "a schema that accepts nothing cannot be generated")),
        (#"{"$ref": 1}"#, .invalidValue(keyword: "$ref", path: "", message: "must be a string")),
        (#"{"type": "string", "anyOf": [{"format": "email"}]}"#, .invalidValue(keyword: "format", path: "/anyOf/0", message: #""email" is not supported (only date, time, date-time, uuid)"#)),
        (#"{"enum": ["a", "b"], "properties": {"x": {"format": "email"}}}"#, .invalidValue(keyword: "format", path: "/properties/x", message: #""email" is not supported (only date, time, date-time, uuid)"#)),
        (#"{"enum": ["a", "b"], "pattern": "^(?!a)"}"#,
         .invalidValue(keyword: "pattern", path: "/pattern", message: "lookarounds and named groups are not supported (at character 3)")),
    ])
    func unsupportedSchemasAreRefusedByKeyword(schema: String, error: JSONSchemaError) {
        #expect(throws: error) { try JSONSchemaGrammar(schema: schema) }
    }
}
