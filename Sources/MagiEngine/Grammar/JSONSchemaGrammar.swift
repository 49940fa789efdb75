import MagiJSON

/// Turns a JSON Schema into a GBNF grammar whose strings are the JSON texts the schema accepts, in the
/// manner of llama.cpp's `json-schema-to-grammar` (properties in their written order, required ones
/// first; whitespace limited to a space or a line break and indentation).
///
/// Supported: `type` (one or a list), `properties`, `required`, `additionalProperties`, `items`,
/// `minItems`, `maxItems`, `minLength`, `maxLength`, `pattern` (a regular-expression subset, see
/// ``JSONSchemaPattern``), `enum`, `const`, `anyOf`, `oneOf` (enforced as `anyOf`), `$ref` into `$defs` or
/// `definitions`, and annotations (`title`, `description`, `default`, `examples`, …). Any other keyword
/// is refused with ``JSONSchemaError/unsupportedKeyword(_:path:)``: a schema is never enforced more
/// loosely than written. Declared properties bound an object even when `additionalProperties` is absent
/// or true (a stricter grammar, never a looser one).
public struct JSONSchemaGrammar {
    /// The grammar text, `root` first.
    public let gbnf: String

    /// Converts the schema in `schemaText`.
    ///
    /// - Throws: ``JSONSchemaError`` naming the keyword and where it is.
    public init(schema schemaText: String) throws {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: schemaText)
        } catch let error as JSONParseError {
            throw JSONSchemaError.invalidJSON(offset: error.offset, message: error.reason)
        }
        var converter = Converter(document: document)
        let root = try converter.visit(converter.document, path: "", name: "root")
        if root != "root" { converter.define("root", root) }
        gbnf = converter.rules.map { "\($0.name) ::= \($0.body)" }.joined(separator: "\n") + "\n"
    }

    /// The compiled grammar.
    public func grammar() throws -> Grammar { try Grammar(gbnf: gbnf) }

    /// A GBNF string literal spelling `text` exactly.
    static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

private struct Converter {
    let document: JSONValue
    var rules: [(name: String, body: String)] = []
    private var nameOfBody: [String: String] = [:]
    private var referenceRules: [String: String] = [:]
    private var definedPrimitives: Set<String> = []

    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment",
                                           "deprecated", "readOnly", "writeOnly", "$defs", "definitions"]
    static let handled: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "minItems",
                                       "maxItems", "minLength", "maxLength", "pattern", "enum", "const", "anyOf",
                                       "oneOf", "$ref"]

    /// Shared rules, defined when first used.
    static let primitives: [String: String] = [
        "space": #"| " " | "\n" [ \t]{0,20}"#,
        "boolean": #"("true" | "false") space"#,
        "null": #""null" space"#,
        "integral-part": #"[0] | [1-9] [0-9]{0,15}"#,
        "integer": #"("-"? integral-part) space"#,
        "number": #"("-"? integral-part) ("." [0-9]{1,16})? ([eE] [-+]? integral-part)? space"#,
        "char": #"[^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#,
        "string": #""\"" char* "\"" space"#,
        "value": "object | array | string | number | boolean | null",
        "object": #""{" space ( string ":" space value ("," space string ":" space value)* )? "}" space"#,
        "array": #""[" space ( value ("," space value)* )? "]" space"#,
    ]
    static let primitiveUses: [String: [String]] = [
        "boolean": ["space"], "null": ["space"], "integer": ["integral-part", "space"],
        "number": ["integral-part", "space"], "string": ["char", "space"],
        "value": ["object", "array", "string", "number", "boolean", "null"],
        "object": ["space", "string", "value"], "array": ["space", "value"],
    ]

    init(document: JSONValue) { self.document = document }

    /// Defines a primitive rule (and those it uses) once; returns its name.
    mutating func primitive(_ name: String) -> String {
        guard definedPrimitives.insert(name).inserted else { return name }
        nameOfBody[Self.primitives[name]!] = name
        rules.append((name, Self.primitives[name]!))
        for used in Self.primitiveUses[name] ?? [] { _ = primitive(used) }
        return name
    }

    mutating func define(_ name: String, _ body: String) { rules.append((name, body)) }

    /// A rule with this body, reusing an existing rule with the same body.
    mutating func rule(_ hint: String, _ body: String) -> String {
        if let existing = nameOfBody[body] { return existing }
        var name = hint
        var k = 1
        while rules.contains(where: { $0.name == name }) { k += 1; name = "\(hint)\(k)" }
        nameOfBody[body] = name
        rules.append((name, body))
        return name
    }

    /// A GBNF expression (usually a rule name) for the values `schema` accepts.
    mutating func visit(_ schema: JSONValue, path: String, name: String) throws -> String {
        if case .bool(let b) = schema {
            guard b else { throw JSONSchemaError.invalidValue(keyword: "false", path: path, message: "a schema that accepts nothing cannot be generated") }
            return primitive("value")
        }
        guard case .object(let members) = schema else {
            throw JSONSchemaError.invalidValue(keyword: "schema", path: path, message: "a schema must be an object or a boolean")
        }
        for (key, _) in members where !Self.handled.contains(key) && !Self.annotations.contains(key) {
            throw JSONSchemaError.unsupportedKeyword(key, path: path)
        }
        let keys = Set(members.map(\.key))
        if case .string(let ref)? = schema["$ref"] {
            if let other = keys.subtracting(Self.annotations).subtracting(["$ref"]).sorted().first {
                throw JSONSchemaError.unsupportedKeyword(other, path: path)
            }
            return try reference(ref, path: path)
        }
        if let value = schema["const"] { return rule(name, JSONSchemaGrammar.literal(value.compactText) + " " + primitive("space")) }
        if let values = schema["enum"] {
            guard case .array(let items) = values, !items.isEmpty else {
                throw JSONSchemaError.invalidValue(keyword: "enum", path: path, message: "must be a non-empty array")
            }
            let choices = items.map { JSONSchemaGrammar.literal($0.compactText) }.joined(separator: " | ")
            return rule(name, "(" + choices + ") " + primitive("space"))
        }
        for keyword in ["anyOf", "oneOf"] {
            guard let branches = schema[keyword] else { continue }
            guard case .array(let list) = branches, !list.isEmpty else {
                throw JSONSchemaError.invalidValue(keyword: keyword, path: path, message: "must be a non-empty array")
            }
            var choices: [String] = []
            for (k, branch) in list.enumerated() {
                choices.append(try visit(branch, path: "\(path)/\(keyword)/\(k)", name: "\(name)-\(k)"))
            }
            return rule(name, choices.joined(separator: " | "))
        }
        switch schema["type"] {
        case .string(let type)?:
            return try typed(type, schema, path: path, name: name)
        case .array(let types)?:
            var choices: [String] = []
            for case .string(let type) in types {
                choices.append(try typed(type, schema, path: path, name: "\(name)-\(type)"))
            }
            guard choices.count == types.count, !choices.isEmpty else {
                throw JSONSchemaError.invalidValue(keyword: "type", path: path, message: "must be a type name or a list of them")
            }
            return rule(name, choices.joined(separator: " | "))
        case nil:
            if keys.contains("properties") || keys.contains("additionalProperties") { return try typed("object", schema, path: path, name: name) }
            if keys.contains("items") { return try typed("array", schema, path: path, name: name) }
            if keys.contains("pattern") || keys.contains("minLength") || keys.contains("maxLength") {
                return try typed("string", schema, path: path, name: name)
            }
            return primitive("value")
        default:
            throw JSONSchemaError.invalidValue(keyword: "type", path: path, message: "must be a type name or a list of them")
        }
    }

    private mutating func typed(_ type: String, _ schema: JSONValue, path: String, name: String) throws -> String {
        switch type {
        case "string": return try string(schema, path: path, name: name)
        case "number", "integer", "boolean", "null": return primitive(type)
        case "array": return try array(schema, path: path, name: name)
        case "object": return try object(schema, path: path, name: name)
        default: throw JSONSchemaError.invalidValue(keyword: "type", path: path, message: "unknown type '\(type)'")
        }
    }

    private mutating func string(_ schema: JSONValue, path: String, name: String) throws -> String {
        let minimum = try count("minLength", schema, path: path) ?? 0
        let maximum = try count("maxLength", schema, path: path)
        if case .string(let pattern)? = schema["pattern"] {
            if schema["minLength"] != nil || schema["maxLength"] != nil {
                throw JSONSchemaError.unsupportedKeyword(schema["minLength"] != nil ? "minLength" : "maxLength", path: path + " (with pattern)")
            }
            _ = primitive("char")
            let body = try JSONSchemaPattern(pattern, path: path + "/pattern").gbnf
            return rule(name, #""\"" "# + body + #" "\"" "# + primitive("space"))
        } else if schema["pattern"] != nil {
            throw JSONSchemaError.invalidValue(keyword: "pattern", path: path, message: "must be a string")
        }
        if minimum == 0 && maximum == nil { return primitive("string") }
        _ = primitive("char")
        let bound = maximum.map { "{\(minimum),\($0)}" } ?? "{\(minimum),}"
        return rule(name, #""\"" char"# + bound + #" "\"" "# + primitive("space"))
    }

    private mutating func array(_ schema: JSONValue, path: String, name: String) throws -> String {
        let minimum = try count("minItems", schema, path: path) ?? 0
        let maximum = try count("maxItems", schema, path: path)
        if let max = maximum, max < minimum {
            throw JSONSchemaError.invalidValue(keyword: "maxItems", path: path, message: "is below minItems")
        }
        if case .array? = schema["items"] {
            throw JSONSchemaError.invalidValue(keyword: "items", path: path, message: "tuple form (an array of schemas) is not supported")
        }
        let item = try schema["items"].map { try visit($0, path: path + "/items", name: name + "-item") } ?? primitive("value")
        let space = primitive("space")
        if maximum == 0 { return rule(name, #""[" "# + space + #" "]" "# + space) }
        let rest = #"("," "# + space + " " + item + ")" + (maximum.map { "{\(max(minimum, 1) - 1),\($0 - 1)}" } ?? "{\(max(minimum, 1) - 1),}")
        let items = minimum == 0 ? "(" + item + " " + rest + ")?" : item + " " + rest
        return rule(name, #""[" "# + space + " " + items + #" "]" "# + space)
    }

    private mutating func object(_ schema: JSONValue, path: String, name: String) throws -> String {
        let space = primitive("space")
        var properties: [(key: String, value: JSONValue)] = []
        if let p = schema["properties"] {
            guard case .object(let members) = p else {
                throw JSONSchemaError.invalidValue(keyword: "properties", path: path, message: "must be an object")
            }
            properties = members
        }
        var required: Set<String> = []
        if let r = schema["required"] {
            guard case .array(let names) = r else {
                throw JSONSchemaError.invalidValue(keyword: "required", path: path, message: "must be an array of names")
            }
            for case .string(let n) in names { required.insert(n) }
            if let missing = required.first(where: { n in !properties.contains { $0.key == n } }) {
                throw JSONSchemaError.invalidValue(keyword: "required", path: path, message: "names '\(missing)', which is not in properties")
            }
        }
        let additional = schema["additionalProperties"]
        if properties.isEmpty {
            switch additional {
            case .bool(false)?: return rule(name, #""{" "# + space + #" "}" "# + space)
            case nil, .bool(true)?: return primitive("object")
            case let valueSchema?:
                let value = try visit(valueSchema, path: path + "/additionalProperties", name: name + "-value")
                let kv = rule(name + "-kv", primitive("string") + #" ":" "# + space + " " + value)
                return rule(name, #""{" "# + space + " (" + kv + #" ("," "# + space + " " + kv + #")*)? "}" "# + space)
            }
        }
        if let additional, additional != .bool(true), additional != .bool(false) {
            throw JSONSchemaError.invalidValue(keyword: "additionalProperties", path: path,
                                               message: "a schema for extra properties alongside declared properties is not supported")
        }
        var requiredKVs: [String] = [], optionalKVs: [String] = []
        for (key, valueSchema) in properties {
            let ruleName = name + "-" + Self.ruleNamePart(key)
            let value = try visit(valueSchema, path: path + "/properties/" + key, name: ruleName)
            let kv = rule(ruleName + "-kv", JSONSchemaGrammar.literal(JSONValue.quoted(key)) + " " + space + #" ":" "# + space + " " + value)
            if required.contains(key) { requiredKVs.append(kv) } else { optionalKVs.append(kv) }
        }
        let comma = #""," "# + space + " "
        var body = #""{" "# + space + " "
        if !requiredKVs.isEmpty {
            body += requiredKVs.joined(separator: " " + comma)
            body += optionalKVs.map { " (" + comma + $0 + ")?" }.joined()
        } else if !optionalKVs.isEmpty {
            // No required member: any optional one may come first, the later ones each after a comma.
            let starts = optionalKVs.indices.map { i in
                ([optionalKVs[i]] + optionalKVs[(i + 1)...].map { "(" + comma + $0 + ")?" }).joined(separator: " ")
            }
            body += "(" + starts.joined(separator: " | ") + ")?"
        }
        return rule(name, body + #" "}" "# + space)
    }

    private mutating func reference(_ ref: String, path: String) throws -> String {
        if let existing = referenceRules[ref] { return existing }
        var target: JSONValue?
        for prefix in ["#/$defs/", "#/definitions/"] where ref.hasPrefix(prefix) {
            target = document[String(prefix.dropFirst(2).dropLast())]?[String(ref.dropFirst(prefix.count))]
        }
        guard let target else { throw JSONSchemaError.unresolvedReference(ref, path: path) }
        let name = "ref-" + Self.ruleNamePart(String(ref.split(separator: "/").last ?? ""))
        referenceRules[ref] = name
        let placeholder = rules.count
        rules.append((name, "")) // reserved, so recursive references find the name
        let body = try visit(target, path: String(ref.dropFirst()), name: name + "-body")
        rules[placeholder].body = body
        return name
    }

    private func count(_ keyword: String, _ schema: JSONValue, path: String) throws -> Int? {
        guard let value = schema[keyword] else { return nil }
        guard case .number(let text) = value, let n = Int(text), n >= 0 else {
            throw JSONSchemaError.invalidValue(keyword: keyword, path: path, message: "must be a non-negative integer")
        }
        return n
    }

    static func ruleNamePart(_ key: String) -> String {
        let cleaned = String(key.unicodeScalars.map { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) ? Character($0) : "-" })
        return cleaned.isEmpty ? "key" : cleaned
    }
}
