import MagiJSON

/// Turns a JSON Schema into a GBNF grammar whose strings are the JSON texts the schema accepts, in the
/// manner of llama.cpp's `json-schema-to-grammar` (properties in their written order, required ones
/// first; whitespace limited to a space or a line break and indentation).
///
/// Supported: `type` (one or a list), `properties`, `required`, `additionalProperties`, `items`,
/// `minItems`, `maxItems`, `minLength`, `maxLength`, `pattern` (a regular-expression subset, see
/// ``JSONSchemaPattern``; lengths beside it too), `format` (`date`, `time`, `date-time`, `uuid`; see
/// ``JSONSchemaFormat``), `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (integers
/// exactly; numbers as ``JSONSchemaNumbers/numbers(_:path:)`` narrows them), `enum`, `const`, `anyOf`,
/// `oneOf`, `$ref` into `$defs` or `definitions` (standing alone), and
/// annotations (`title`, `description`, `default`, `examples`, …). Any other keyword is refused with
/// ``JSONSchemaError/unsupportedKeyword(_:path:)``: a schema is never enforced more loosely than written.
/// Subschemas nest at most ``maximumNesting`` levels (``JSONSchemaError/tooDeep(limit:path:)``).
///
/// The keywords of one schema all apply, as JSON Schema says:
/// - Without `type`, every type is allowed, and a type-specific keyword constrains only values of its
///   type: `{"minItems": 2}` is any non-array, or an array of two items or more.
/// - `enum` and `const` keep only the values the keywords beside them accept.
/// - Keywords beside `anyOf` / `oneOf` are merged into every branch (`{A, anyOf: [B, C]}` is
///   `anyOf: [A ∧ B, A ∧ C]`); two that cannot be merged into one schema (two different patterns) are
///   refused.
/// - `oneOf` is accepted only when no value can match two of its branches (different types; `const` /
///   `enum` values or string lengths that cannot meet; a required property whose branches cannot meet;
///   …): a grammar cannot count the branches a value matches, so any other `oneOf` is refused.
///
/// Declared properties bound an object even when `additionalProperties` is absent or true (a stricter
/// grammar, never a looser one), as llama.cpp does; so `{"type": "object", "properties": {}}` (a tool
/// without arguments, as MCP servers and `llm` describe it) is exactly `{}`. Only an explicit
/// `"additionalProperties": true` beside an empty `properties` leaves the object open.
public struct JSONSchemaGrammar {
    /// How deeply subschemas (`items`, `properties`, `anyOf`, …) may nest.
    public static let maximumNesting = 128

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
        guard let root = try converter.visit(converter.document, path: "", name: "root") else {
            throw JSONSchemaError.invalidValue(keyword: document == .bool(false) ? "false" : "schema", path: "",
                                               message: "a schema that accepts nothing cannot be generated")
        }
        if root != "root" { converter.define("root", root) }
        gbnf = converter.rules.map { "\($0.name) ::= \($0.body)" }.joined(separator: "\n") + "\n"
    }

    /// The compiled grammar.
    public func grammar() throws -> Grammar { try Grammar(gbnf: gbnf) }

    /// A GBNF string literal spelling `text` exactly (control characters escaped).
    public static func literal(_ text: String) -> String {
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

/// Grammars of `pattern`s and `format`s, compiled once, for checking `enum` values against them.
private final class PatternGrammars {
    var grammars: [String: Grammar?] = [:]

    func grammar(_ pattern: String) -> Grammar? {
        grammar(schema: #"{"type":"string","pattern":"# + JSONValue.quoted(pattern) + "}")
    }

    /// The grammar of a small schema of one string keyword.
    func grammar(schema: String) -> Grammar? {
        if let known = grammars[schema] { return known }
        let grammar = try? JSONSchemaGrammar(schema: schema).grammar()
        grammars[schema] = grammar
        return grammar
    }
}

private typealias Members = [(key: String, value: JSONValue)]

private struct Converter {
    let document: JSONValue
    var rules: [(name: String, body: String)] = []
    private var nameOfBody: [String: String] = [:]
    private var ruleNames: Set<String> = []
    /// How many subschemas deep ``visit(_:path:name:)`` is.
    private var nesting = 0
    private var referenceRules: [String: String] = [:]
    private var definedPrimitives: Set<String> = []
    private let patterns = PatternGrammars()

    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment",
                                           "deprecated", "readOnly", "writeOnly", "$defs", "definitions"]
    static let handled: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "minItems",
                                       "maxItems", "minLength", "maxLength", "pattern", "enum", "const", "anyOf",
                                       "oneOf", "$ref", "format", "minimum", "maximum", "exclusiveMinimum",
                                       "exclusiveMaximum"]
    /// The JSON types, in the order a type-less schema offers them (`integer` is a kind of `number`).
    static let types = ["object", "array", "string", "number", "boolean", "null"]
    /// How deep merging or comparing schemas may recurse (through properties, items and references).
    static let maximumDepth = 32

    /// Shared rules, defined when first used.
    static let primitives: [String: String] = [
        "space": #"| " " | "\n" [ \t]{0,20}"#,
        "boolean": #"("true" | "false") space"#,
        "null": #""null" space"#,
        "integral-part": #"[0] | [1-9] [0-9]{0,15}"#,
        "integer": #"("-"? integral-part) space"#,
        "number": #"("-"? integral-part) ("." [0-9]{1,16})? ([eE] [-+]? integral-part)? space"#,
        // One character of a string (a code point, as `minLength` counts): a surrogate escape only as a pair.
        "char": #"[^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" char-code)"#,
        "char-code": #"[0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} | "#
            + #"[dD] [89abAB] [0-9a-fA-F]{2} "\\u" [dD] [c-fC-F] [0-9a-fA-F]{2}"#,
        // A pattern's `.`: a character but a line terminator (\n, \r, U+2028, U+2029, raw or escaped).
        "dot": #"[^"\\\x7F\x00-\x1F\u2028\u2029] | [\\] (["\\/bft] | "u" dot-code)"#,
        "dot-code": #"[13-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | "0" ([1-9a-fA-F] [0-9a-fA-F]{2} | "0" [1-9a-fA-F] [0-9a-fA-F] | "#
            + #""00" [0-9bcefBCEF]) | "2" ([1-9a-fA-F] [0-9a-fA-F]{2} | "0" [013-9a-fA-F] [0-9a-fA-F] | "02" [0-7a-fA-F]) | "#
            + #"[dD] [0-7] [0-9a-fA-F]{2} | [dD] [89abAB] [0-9a-fA-F]{2} "\\u" [dD] [c-fC-F] [0-9a-fA-F]{2}"#,
        "string": #""\"" char* "\"" space"#,
        "value": "object | array | string | number | boolean | null",
        "object": #""{" space ( string ":" space value ("," space string ":" space value)* )? "}" space"#,
        "array": #""[" space ( value ("," space value)* )? "]" space"#,
    ]
    static let primitiveUses: [String: [String]] = [
        "boolean": ["space"], "null": ["space"], "integer": ["integral-part", "space"],
        "number": ["integral-part", "space"], "string": ["char", "space"], "char": ["char-code"], "dot": ["dot-code"],
        "value": ["object", "array", "string", "number", "boolean", "null"],
        "object": ["space", "string", "value"], "array": ["space", "value"],
    ]

    init(document: JSONValue) { self.document = document }

    /// Defines a primitive rule (and those it uses) once; returns its name.
    mutating func primitive(_ name: String) -> String {
        guard definedPrimitives.insert(name).inserted else { return name }
        nameOfBody[Self.primitives[name]!] = name
        define(name, Self.primitives[name]!)
        for used in Self.primitiveUses[name] ?? [] { _ = primitive(used) }
        return name
    }

    mutating func define(_ name: String, _ body: String) {
        ruleNames.insert(name)
        rules.append((name, body))
    }

    /// `hint`, or `hint` with the first number that makes it a name no rule has.
    func unusedName(_ hint: String, separator: String = "") -> String {
        var name = hint
        var k = 1
        while ruleNames.contains(name) { k += 1; name = "\(hint)\(separator)\(k)" }
        return name
    }

    /// A rule with this body, reusing an existing rule with the same body.
    mutating func rule(_ hint: String, _ body: String) -> String {
        if let existing = nameOfBody[body] { return existing }
        let name = unusedName(hint)
        nameOfBody[body] = name
        define(name, body)
        return name
    }

    // MARK: - Grammar

    /// A GBNF expression (usually a rule name) for the values `schema` accepts, or nil when it accepts none.
    mutating func visit(_ schema: JSONValue, path: String, name: String) throws -> String? {
        if case .bool(let b) = schema { return b ? primitive("value") : nil }
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= JSONSchemaGrammar.maximumNesting else {
            throw JSONSchemaError.tooDeep(limit: JSONSchemaGrammar.maximumNesting, path: path)
        }
        guard case .object(let members) = schema else {
            throw JSONSchemaError.invalidValue(keyword: "schema", path: path, message: "a schema must be an object or a boolean")
        }
        try Self.checkKeywords(members, path: path)
        if let ref = schema["$ref"] {
            return try reference(Self.referenceName(ref, members, path: path), path: path)
        }
        for keyword in ["anyOf", "oneOf"] where schema[keyword] != nil {
            return try alternatives(keyword, members, path: path, name: name)
        }
        if schema["const"] != nil || schema["enum"] != nil { return try choice(members, path: path, name: name) }
        let types = try schema["type"].map { try Self.typeNames($0, path: path) }
        var choices: [String] = []
        for type in types ?? Self.types {
            if let choice = try typed(type, schema, path: path, name: types?.count == 1 ? name : "\(name)-\(type)") {
                choices.append(choice)
            }
        }
        if types == nil && choices == Self.types { return primitive("value") }
        if choices.count <= 1 { return choices.first }
        return rule(name, choices.joined(separator: " | "))
    }

    /// `anyOf` / `oneOf`, with the keywords beside the list merged into each branch.
    private mutating func alternatives(_ keyword: String, _ members: Members, path: String, name: String) throws -> String? {
        guard case .array(let list)? = members.first(where: { $0.key == keyword })?.value, !list.isEmpty else {
            throw JSONSchemaError.invalidValue(keyword: keyword, path: path, message: "must be a non-empty array")
        }
        var branches = list.enumerated().map { (schema: $1, path: "\(path)/\(keyword)/\($0)") }
        let beside = members.filter { $0.key != keyword && !Self.annotations.contains($0.key) }
        if !beside.isEmpty {
            branches = try branches.map { (try intersect(.object(beside), $0.schema, path: $0.path), $0.path) }
        }
        if keyword == "oneOf" {
            for i in branches.indices {
                for j in branches.indices where j > i && !disjoint(branches[i].schema, branches[j].schema, depth: 0) {
                    throw JSONSchemaError.invalidValue(
                        keyword: "oneOf", path: path,
                        message: "branches \(i) and \(j) can match the same value, and a grammar cannot require that only one "
                            + "matches; use anyOf, or make the branches exclusive (different types, or different const "
                            + "values of a required property)")
                }
            }
        }
        var choices: [String] = []
        for (k, branch) in branches.enumerated() {
            if let choice = try visit(branch.schema, path: branch.path, name: "\(name)-\(k)") { choices.append(choice) }
        }
        return choices.isEmpty ? nil : rule(name, choices.joined(separator: " | "))
    }

    /// `enum` / `const`: the listed values that the keywords beside them accept.
    private mutating func choice(_ members: Members, path: String, name: String) throws -> String? {
        var values = try Self.finiteValues(.object(members), path: path) ?? []
        let rest = members.filter { $0.key != "enum" && $0.key != "const" && !Self.annotations.contains($0.key) }
        if !rest.isEmpty {
            try Self.check(.object(rest), path: path)
            values = values.filter { validate($0, .object(rest), depth: 0) == true }
        }
        var literals: [String] = [], seen: Set<String> = []
        for value in values {
            let literal = JSONSchemaGrammar.literal(value.compactText)
            if seen.insert(literal).inserted { literals.append(literal) }
        }
        guard !literals.isEmpty else { return nil }
        let space = primitive("space")
        return rule(name, literals.count == 1 ? literals[0] + " " + space : "(" + literals.joined(separator: " | ") + ") " + space)
    }

    /// The values of type `type` that `schema` accepts, or nil when there are none.
    private mutating func typed(_ type: String, _ schema: JSONValue, path: String, name: String) throws -> String? {
        switch type {
        case "string": return try string(schema, path: path, name: name)
        case "number", "integer":
            guard JSONSchemaNumbers.hasBounds(schema) else { return primitive(type) }
            let space = primitive("space")
            if type == "integer" {
                guard let (low, high) = try JSONSchemaNumbers.integerRange(schema, path: path) else { return nil }
                return rule(name, JSONSchemaNumbers.integers(low, high) + " " + space)
            }
            return try JSONSchemaNumbers.numbers(schema, path: path).map { rule(name, $0 + " " + space) }
        case "boolean", "null": return primitive(type)
        case "array": return try array(schema, path: path, name: name)
        case "object": return try object(schema, path: path, name: name)
        default: throw JSONSchemaError.invalidValue(keyword: "type", path: path, message: "unknown type '\(type)'")
        }
    }

    private mutating func string(_ schema: JSONValue, path: String, name: String) throws -> String? {
        let minimum = try Self.count("minLength", schema, path: path) ?? 0
        let maximum = try Self.count("maxLength", schema, path: path)
        if let maximum, maximum < minimum { return nil }
        if let format = try Self.format(schema, path: path) {
            if schema["pattern"] != nil || schema["minLength"] != nil || schema["maxLength"] != nil {
                throw JSONSchemaError.invalidValue(keyword: "format", path: path,
                                                   message: "a format beside a pattern or a length is not supported")
            }
            let formatRules = JSONSchemaFormat.rules(format)
            for (ruleName, body) in formatRules.reversed() where !ruleNames.contains(ruleName) { define(ruleName, body) }
            return rule(name, #""\"" "# + formatRules[0].name + #" "\"" "# + primitive("space"))
        }
        if case .string(let pattern)? = schema["pattern"] {
            _ = primitive("char")
            let converted = try JSONSchemaPattern(pattern, path: path + "/pattern")
            if converted.usesDot { _ = primitive("dot") }
            let quote = #""\"""#, space = primitive("space")
            if minimum == 0 && maximum == nil { return rule(name, quote + " " + converted.gbnf + " " + quote + " " + space) }
            // A length beside the pattern: one rule per state of the pattern's automaton and count read.
            guard let states = try converted.lengthBounded(minimum: minimum, maximum: maximum) else { return nil }
            var names: [String] = []
            for k in states.indices {
                names.append(unusedName("\(name)-\(k)", separator: "-"))
                ruleNames.insert(names[k])
            }
            for (state, stateName) in zip(states, names) {
                let moves = state.transitions.map { $0.character + " " + names[$0.next] }
                define(stateName, moves.isEmpty ? #""""# : (state.accepts ? "| " : "") + moves.joined(separator: " | "))
            }
            return rule(name, quote + " " + names[0] + " " + quote + " " + space)
        } else if schema["pattern"] != nil {
            throw JSONSchemaError.invalidValue(keyword: "pattern", path: path, message: "must be a string")
        }
        if minimum == 0 && maximum == nil { return primitive("string") }
        _ = primitive("char")
        let bound = maximum.map { "{\(minimum),\($0)}" } ?? "{\(minimum),}"
        return rule(name, #""\"" char"# + bound + #" "\"" "# + primitive("space"))
    }

    private mutating func array(_ schema: JSONValue, path: String, name: String) throws -> String? {
        let minimum = try Self.count("minItems", schema, path: path) ?? 0
        let maximum = try Self.count("maxItems", schema, path: path)
        if case .array? = schema["items"] {
            throw JSONSchemaError.invalidValue(keyword: "items", path: path, message: "tuple form (an array of schemas) is not supported")
        }
        if let maximum, maximum < minimum { return nil }
        if schema["items"] == nil && minimum == 0 && maximum == nil { return primitive("array") }
        let item: String?
        if let items = schema["items"] { item = try visit(items, path: path + "/items", name: name + "-item") } else { item = primitive("value") }
        let space = primitive("space")
        guard let item, maximum != 0 else { return minimum == 0 ? rule(name, #""[" "# + space + #" "]" "# + space) : nil }
        let rest = #"("," "# + space + " " + item + ")" + (maximum.map { "{\(max(minimum, 1) - 1),\($0 - 1)}" } ?? "{\(max(minimum, 1) - 1),}")
        let items = minimum == 0 ? "(" + item + " " + rest + ")?" : item + " " + rest
        return rule(name, #""[" "# + space + " " + items + #" "]" "# + space)
    }

    private mutating func object(_ schema: JSONValue, path: String, name: String) throws -> String? {
        let space = primitive("space")
        var properties = try Self.properties(schema, path: path)
        let required = try Self.required(schema, path: path)
        let additional = schema["additionalProperties"]
        // A required name that `properties` does not declare takes the schema of other properties.
        for n in required where !properties.contains(where: { $0.key == n }) {
            properties.append((n, additional ?? .bool(true)))
        }
        if properties.isEmpty {
            switch additional {
            case .bool(false)?: return rule(name, #""{" "# + space + #" "}" "# + space)
            case nil where schema["properties"] != nil: return rule(name, #""{" "# + space + #" "}" "# + space)
            case nil, .bool(true)?: return primitive("object")
            case let valueSchema?:
                guard let value = try visit(valueSchema, path: path + "/additionalProperties", name: name + "-value") else {
                    return rule(name, #""{" "# + space + #" "}" "# + space)
                }
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
            guard let value = try visit(valueSchema, path: path + "/properties/" + key, name: ruleName) else {
                if required.contains(key) { return nil } // a required property no value satisfies: no such object
                continue // an optional property no value satisfies: never written
            }
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
        guard let target = resolve(ref) else { throw JSONSchemaError.unresolvedReference(ref, path: path) }
        let name = "ref-" + Self.ruleNamePart(String(ref.split(separator: "/").last ?? ""))
        referenceRules[ref] = name
        let placeholder = rules.count
        define(name, "") // reserved, so recursive references find the name
        guard let body = try visit(target, path: String(ref.dropFirst()), name: name + "-body") else {
            throw JSONSchemaError.invalidValue(keyword: "$ref", path: path, message: "'\(ref)' names a schema that accepts nothing")
        }
        rules[placeholder].body = body
        return name
    }

    /// The schema `ref` names in `$defs` / `definitions`, if any.
    private func resolve(_ ref: String) -> JSONValue? {
        for prefix in ["#/$defs/", "#/definitions/"] where ref.hasPrefix(prefix) {
            return document[String(prefix.dropFirst(2).dropLast())]?[String(ref.dropFirst(prefix.count))]
        }
        return nil
    }

    // MARK: - Merging schemas

    /// One schema accepting what both `a` and `b` accept (their `allOf`), possibly `false`; refused where
    /// the two cannot be written as one schema of supported keywords.
    private func intersect(_ a: JSONValue, _ b: JSONValue, path: String, depth: Int = 0) throws -> JSONValue {
        switch (a, b) {
        case (.bool(false), _), (_, .bool(false)): return .bool(false)
        case (.bool(true), _): return b
        case (_, .bool(true)): return a
        default: if a == b { return a }
        }
        let a = try normalized(a, path: path, depth: depth), b = try normalized(b, path: path, depth: depth)
        guard case .object(let am) = a, case .object(let bm) = b else { return try intersect(a, b, path: path, depth: depth + 1) }
        var out: Members = []
        var done: Set<String> = []
        let keys = am.map(\.key) + bm.map(\.key).filter { k in !am.contains { $0.key == k } }
        for key in keys where done.insert(key).inserted {
            let x = a[key], y = b[key]
            switch key {
            case "const", "enum":
                done.formUnion(["const", "enum"])
                let fx = try Self.finiteValues(a, path: path), fy = try Self.finiteValues(b, path: path)
                var values = fx ?? fy ?? []
                if let fx, let fy { values = fx.filter { v in fy.contains { Self.equal(v, $0) == true } } }
                if values.isEmpty { return .bool(false) }
                out.append(("enum", .array(values)))
            case "properties", "additionalProperties":
                done.formUnion(["properties", "additionalProperties"])
                let px = try Self.properties(a, path: path), py = try Self.properties(b, path: path)
                let ax = a["additionalProperties"] ?? .bool(true), ay = b["additionalProperties"] ?? .bool(true)
                var merged: Members = []
                for k in px.map(\.key) + py.map(\.key).filter({ k in !px.contains { $0.key == k } }) {
                    let sx = px.first { $0.key == k }?.value ?? ax, sy = py.first { $0.key == k }?.value ?? ay
                    merged.append((k, try intersect(sx, sy, path: path + "/properties/" + k, depth: depth + 1)))
                }
                let additional = try intersect(ax, ay, path: path + "/additionalProperties", depth: depth + 1)
                if !merged.isEmpty { out.append(("properties", .object(merged))) }
                if additional != .bool(true) { out.append(("additionalProperties", additional)) }
            case _ where x == nil || y == nil:
                out.append((key, (x ?? y)!))
            case "type":
                let tx = try Self.typeNames(x!, path: path), ty = try Self.typeNames(y!, path: path)
                var both: [String] = []
                for t in tx {
                    let integer = (t == "integer" && ty.contains("number")) || (t == "number" && ty.contains("integer"))
                    let common: String? = ty.contains(t) ? t : integer ? "integer" : nil
                    if let common, !both.contains(common) { both.append(common) }
                }
                if both.isEmpty { return .bool(false) }
                out.append((key, both.count == 1 ? .string(both[0]) : .array(both.map { .string($0) })))
            case "required":
                var names = try Self.required(a, path: path)
                for n in try Self.required(b, path: path) where !names.contains(n) { names.append(n) }
                out.append((key, .array(names.map { .string($0) })))
            case "items":
                for items in [x!, y!] {
                    guard case .array = items else { continue }
                    throw JSONSchemaError.invalidValue(keyword: "items", path: path, message: "tuple form (an array of schemas) is not supported")
                }
                out.append((key, try intersect(x!, y!, path: path + "/items", depth: depth + 1)))
            case "minItems", "minLength", "maxItems", "maxLength":
                let m = try Self.count(key, a, path: path)!, n = try Self.count(key, b, path: path)!
                out.append((key, .number(String(key.hasPrefix("min") ? max(m, n) : min(m, n)))))
            case "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum":
                guard case .number(let m)? = x, case .number(let n)? = y, let order = Self.compare(m, n) else {
                    throw JSONSchemaError.invalidValue(keyword: key, path: path, message: "two bounds that cannot be compared cannot be combined")
                }
                out.append((key, .number(key.hasSuffix("inimum") == (order >= 0) ? m : n)))
            case "format":
                guard x == y else {
                    throw JSONSchemaError.invalidValue(keyword: "format", path: path,
                                                       message: "two different formats for one string cannot be combined")
                }
                out.append((key, x!))
            case "pattern":
                guard x == y else {
                    throw JSONSchemaError.invalidValue(keyword: "pattern", path: path,
                                                       message: "two different patterns for one string cannot be combined")
                }
                out.append((key, x!))
            case "anyOf", "oneOf":
                // {anyOf: X} ∧ {anyOf: Y} is anyOf: [x ∧ {anyOf: Y} for x in X]; and oneOf likewise, as
                // exactly one x matches a value exactly when exactly one x ∧ {oneOf: Y} does.
                guard case .array(let list) = x!, !list.isEmpty else {
                    throw JSONSchemaError.invalidValue(keyword: key, path: path, message: "must be a non-empty array")
                }
                out.append((key, .array(try list.map { try intersect($0, .object([(key, y!)]), path: path, depth: depth + 1) })))
            default:
                out.append((key, x!))
            }
        }
        return .object(out)
    }

    /// `schema` without annotations, a `$ref` replaced by what it names.
    private func normalized(_ schema: JSONValue, path: String, depth: Int) throws -> JSONValue {
        guard depth < Self.maximumDepth else {
            throw JSONSchemaError.invalidValue(keyword: "$ref", path: path, message: "nests too deeply to be merged with the keywords beside it")
        }
        if case .bool = schema { return schema }
        guard case .object(let members) = schema else {
            throw JSONSchemaError.invalidValue(keyword: "schema", path: path, message: "a schema must be an object or a boolean")
        }
        try Self.checkKeywords(members, path: path)
        if let ref = schema["$ref"] {
            let ref = try Self.referenceName(ref, members, path: path)
            guard let target = resolve(ref) else { throw JSONSchemaError.unresolvedReference(ref, path: path) }
            return try normalized(target, path: String(ref.dropFirst()), depth: depth + 1)
        }
        return .object(members.filter { !Self.annotations.contains($0.key) })
    }

    // MARK: - Checking values and overlaps

    /// Whether `value` satisfies `schema`: true or false when certain, nil when this cannot tell (a
    /// `pattern` the grammar's narrower reading rejects; numbers too large to compare exactly).
    private func validate(_ value: JSONValue, _ schema: JSONValue, depth: Int) -> Bool? {
        if case .bool(let b) = schema { return b }
        guard case .object(let members) = schema, depth < Self.maximumDepth else { return nil }
        var verdicts: [Bool?] = []
        for (key, keyword) in members {
            switch (key, value) {
            case ("$ref", _):
                guard case .string(let ref) = keyword, let target = resolve(ref) else { return nil }
                verdicts.append(validate(value, target, depth: depth + 1))
            case ("type", _):
                guard let names = try? Self.typeNames(keyword, path: "") else { return nil }
                verdicts.append(names.contains { Self.hasType(value, $0) })
            case ("const", _):
                verdicts.append(Self.equal(value, keyword))
            case ("enum", _):
                guard case .array(let items) = keyword else { return nil }
                verdicts.append(Self.any(items.map { Self.equal(value, $0) }))
            case ("minLength", .string(let s)), ("maxLength", .string(let s)):
                guard let n = try? Self.count(key, schema, path: "") else { return nil }
                verdicts.append(key == "minLength" ? s.unicodeScalars.count >= n : s.unicodeScalars.count <= n)
            case ("pattern", .string(let s)):
                guard case .string(let pattern) = keyword else { return nil }
                if let prefix = Self.literalPrefix(pattern), !s.unicodeScalars.starts(with: prefix) {
                    verdicts.append(false)
                } else if let grammar = patterns.grammar(pattern), GrammarMatcher(grammar: grammar).matches(JSONValue.quoted(s)) {
                    verdicts.append(true)
                } else {
                    verdicts.append(nil) // the grammar reads some patterns more narrowly than the schema
                }
            case ("minimum", .number(let n)), ("maximum", .number(let n)), ("exclusiveMinimum", .number(let n)),
                 ("exclusiveMaximum", .number(let n)):
                guard case .number(let bound) = keyword, let order = Self.compare(n, bound) else { return nil }
                switch key {
                case "minimum": verdicts.append(order >= 0)
                case "maximum": verdicts.append(order <= 0)
                case "exclusiveMinimum": verdicts.append(order > 0)
                default: verdicts.append(order < 0)
                }
            case ("format", .string(let s)):
                guard case .string(let format) = keyword, JSONSchemaFormat.supported.contains(format) else { return nil }
                let schema = #"{"type":"string","format":"# + JSONValue.quoted(format) + "}"
                // Values the (narrower) grammar rejects may still be valid dates: unknown, not false.
                verdicts.append(patterns.grammar(schema: schema).map { GrammarMatcher(grammar: $0).matches(JSONValue.quoted(s)) } == true ? true : nil)
            case ("minItems", .array(let items)), ("maxItems", .array(let items)):
                guard let n = try? Self.count(key, schema, path: "") else { return nil }
                verdicts.append(key == "minItems" ? items.count >= n : items.count <= n)
            case ("items", .array(let items)):
                if case .array = keyword { return nil }
                verdicts += items.map { validate($0, keyword, depth: depth + 1) }
            case ("properties", .object(let fields)), ("additionalProperties", .object(let fields)):
                if key == "additionalProperties" && schema["properties"] != nil { continue }
                guard let declared = try? Self.properties(schema, path: "") else { return nil }
                verdicts += fields.map { field in
                    validate(field.value, declared.first { $0.key == field.key }?.value ?? schema["additionalProperties"] ?? .bool(true),
                             depth: depth + 1)
                }
            case ("required", .object(let fields)):
                guard let names = try? Self.required(schema, path: "") else { return nil }
                verdicts.append(names.allSatisfy { n in fields.contains { $0.key == n } })
            case ("anyOf", _), ("oneOf", _):
                guard case .array(let list) = keyword else { return nil }
                let each = list.map { validate(value, $0, depth: depth + 1) }
                if key == "anyOf" {
                    verdicts.append(Self.any(each))
                } else {
                    let matching = each.filter { $0 == true }.count
                    if matching > 1 { verdicts.append(false) } else if each.contains(nil) { verdicts.append(nil) } else { verdicts.append(matching == 1) }
                }
            case ("minLength", _), ("maxLength", _), ("pattern", _), ("minItems", _), ("maxItems", _), ("items", _),
                 ("properties", _), ("additionalProperties", _), ("required", _), ("minimum", _), ("maximum", _),
                 ("exclusiveMinimum", _), ("exclusiveMaximum", _), ("format", _):
                continue // a keyword for another type
            default:
                if !Self.annotations.contains(key) { return nil }
            }
        }
        return Self.all(verdicts)
    }

    /// True when no value can satisfy both `a` and `b` (false: they may overlap, or this cannot tell).
    private func disjoint(_ a: JSONValue, _ b: JSONValue, depth: Int) -> Bool {
        if a == .bool(false) || b == .bool(false) { return true }
        guard depth < Self.maximumDepth, case .object = a, case .object = b else { return false }
        for (x, y) in [(a, b), (b, a)] {
            if case .string(let ref)? = x["$ref"] {
                guard let target = resolve(ref) else { return false }
                return disjoint(target, y, depth: depth + 1)
            }
        }
        for (x, y) in [(a, b), (b, a)] {
            for keyword in ["anyOf", "oneOf"] {
                if case .array(let list)? = x[keyword], list.allSatisfy({ disjoint($0, y, depth: depth + 1) }) { return true }
            }
            if let values = try? Self.finiteValues(x, path: ""),
               values.allSatisfy({ validate($0, y, depth: 0) == false || validate($0, x, depth: 0) == false }) {
                return true
            }
        }
        return Self.typeSet(a).intersection(Self.typeSet(b)).allSatisfy { disjoint(as: $0, a, b, depth: depth) }
    }

    /// True when no value of type `type` can satisfy both `a` and `b`.
    private func disjoint(as type: String, _ a: JSONValue, _ b: JSONValue, depth: Int) -> Bool {
        func bounds(_ s: JSONValue, _ low: String, _ high: String) -> (Int, Int) {
            ((try? Self.count(low, s, path: "")) ?? 0, (try? Self.count(high, s, path: "")) ?? Int.max)
        }
        switch type {
        case "string":
            let (la, ha) = bounds(a, "minLength", "maxLength"), (lb, hb) = bounds(b, "minLength", "maxLength")
            if ha < lb || hb < la { return true }
            if case .string(let p)? = a["pattern"], case .string(let q)? = b["pattern"],
               let pp = Self.literalPrefix(p), let qp = Self.literalPrefix(q), !pp.starts(with: qp), !qp.starts(with: pp) {
                return true
            }
            return false
        case "array":
            let (la, ha) = bounds(a, "minItems", "maxItems"), (lb, hb) = bounds(b, "minItems", "maxItems")
            if ha < lb || hb < la { return true }
            let ia = a["items"] ?? .bool(true), ib = b["items"] ?? .bool(true)
            if case .array = ia { return false }
            if case .array = ib { return false }
            return la >= 1 && lb >= 1 && disjoint(ia, ib, depth: depth + 1)
        case "object":
            func property(_ s: JSONValue, _ k: String) -> JSONValue { s["properties"]?[k] ?? s["additionalProperties"] ?? .bool(true) }
            for (x, y) in [(a, b), (b, a)] {
                let requiredY = (try? Self.required(y, path: "")) ?? []
                for k in (try? Self.required(x, path: "")) ?? [] {
                    if property(y, k) == .bool(false) { return true }
                    if requiredY.contains(k) && disjoint(property(x, k), property(y, k), depth: depth + 1) { return true }
                }
            }
            return false
        default:
            return false
        }
    }

    // MARK: - Reading keywords

    /// Refuses, by name, a keyword in `schema` or its subschemas that ``validate(_:_:depth:)`` could not
    /// read (an unknown keyword, a malformed count or type, a pattern outside the supported subset).
    static func check(_ schema: JSONValue, path: String, depth: Int = 0) throws {
        guard case .object(let members) = schema else { return }
        guard depth < JSONSchemaGrammar.maximumNesting else {
            throw JSONSchemaError.tooDeep(limit: JSONSchemaGrammar.maximumNesting, path: path)
        }
        try checkKeywords(members, path: path)
        if let t = schema["type"] { _ = try typeNames(t, path: path) }
        for keyword in ["minLength", "maxLength", "minItems", "maxItems"] { _ = try count(keyword, schema, path: path) }
        for keyword in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
            _ = try JSONSchemaNumbers.bound(keyword, schema, path: path)
        }
        _ = try format(schema, path: path)
        if case .string(let pattern)? = schema["pattern"] { _ = try JSONSchemaPattern(pattern, path: path + "/pattern") }
        for (key, value) in members {
            switch (key, value) {
            case ("properties", .object(let properties)):
                for (name, subschema) in properties { try check(subschema, path: path + "/properties/" + name, depth: depth + 1) }
            case ("additionalProperties", _), ("items", _):
                try check(value, path: path + "/" + key, depth: depth + 1)
            case ("anyOf", .array(let list)), ("oneOf", .array(let list)):
                for (k, subschema) in list.enumerated() { try check(subschema, path: "\(path)/\(key)/\(k)", depth: depth + 1) }
            default:
                break
            }
        }
    }

    /// The `format` of `schema`, if any; one the grammar cannot enforce is refused.
    static func format(_ schema: JSONValue, path: String) throws -> String? {
        guard let value = schema["format"] else { return nil }
        guard case .string(let format) = value, JSONSchemaFormat.supported.contains(format) else {
            throw JSONSchemaError.invalidValue(keyword: "format", path: path, message: "\(value.compactText) is not supported (only "
                                               + JSONSchemaFormat.supported.joined(separator: ", ") + ")")
        }
        return format
    }

    /// -1, 0 or 1 as JSON number `a` is below, equal to or above `b`; nil when too close to tell.
    static func compare(_ a: String, _ b: String) -> Int? {
        guard let x = Double(a), let y = Double(b) else { return nil }
        // Rounding to the nearest double keeps order, so different doubles order their decimals.
        if x != y { return x < y ? -1 : 1 }
        return equal(.number(a), .number(b)) == true ? 0 : nil
    }

    static func checkKeywords(_ members: Members, path: String) throws {
        for (key, _) in members where !handled.contains(key) && !annotations.contains(key) {
            throw JSONSchemaError.unsupportedKeyword(key, path: path)
        }
    }

    /// The target of a `$ref`, which must stand alone (but for annotations).
    static func referenceName(_ value: JSONValue, _ members: Members, path: String) throws -> String {
        guard case .string(let ref) = value else {
            throw JSONSchemaError.invalidValue(keyword: "$ref", path: path, message: "must be a string")
        }
        if let other = Set(members.map(\.key)).subtracting(annotations).subtracting(["$ref"]).sorted().first {
            throw JSONSchemaError.unsupportedKeyword(other, path: path)
        }
        return ref
    }

    /// The names in `type`, `integer` dropped beside `number`.
    static func typeNames(_ value: JSONValue, path: String) throws -> [String] {
        var names: [String] = []
        switch value {
        case .string(let t): names = [t]
        case .array(let list):
            for case .string(let t) in list { names.append(t) }
            if names.count != list.count { names = [] }
        default: break
        }
        guard !names.isEmpty else {
            throw JSONSchemaError.invalidValue(keyword: "type", path: path, message: "must be a type name or a list of them")
        }
        for t in names where !types.contains(t) && t != "integer" {
            throw JSONSchemaError.invalidValue(keyword: "type", path: path, message: "unknown type '\(t)'")
        }
        if names.contains("number") { names.removeAll { $0 == "integer" } }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// The JSON types `schema` allows by its `type` (`integer` as `number`).
    static func typeSet(_ schema: JSONValue) -> Set<String> {
        guard let t = schema["type"], let names = try? typeNames(t, path: "") else { return Set(types) }
        return Set(names.map { $0 == "integer" ? "number" : $0 })
    }

    static func properties(_ schema: JSONValue, path: String) throws -> Members {
        guard let p = schema["properties"] else { return [] }
        guard case .object(let members) = p else {
            throw JSONSchemaError.invalidValue(keyword: "properties", path: path, message: "must be an object")
        }
        return members
    }

    static func required(_ schema: JSONValue, path: String) throws -> [String] {
        guard let r = schema["required"] else { return [] }
        guard case .array(let list) = r else {
            throw JSONSchemaError.invalidValue(keyword: "required", path: path, message: "must be an array of names")
        }
        var names: [String] = []
        for case .string(let n) in list where !names.contains(n) { names.append(n) }
        return names
    }

    /// The values `const` / `enum` allow (both: the `enum` values equal to the `const`), or nil without either.
    static func finiteValues(_ schema: JSONValue, path: String) throws -> [JSONValue]? {
        var values: [JSONValue]?
        if let e = schema["enum"] {
            guard case .array(let items) = e, !items.isEmpty else {
                throw JSONSchemaError.invalidValue(keyword: "enum", path: path, message: "must be a non-empty array")
            }
            values = items
        }
        if let c = schema["const"] { values = values.map { $0.filter { equal($0, c) == true } } ?? [c] }
        return values
    }

    static func count(_ keyword: String, _ schema: JSONValue, path: String) throws -> Int? {
        guard let value = schema[keyword] else { return nil }
        guard case .number(let text) = value, let n = Int(text), n >= 0 else {
            throw JSONSchemaError.invalidValue(keyword: keyword, path: path, message: "must be a non-negative integer")
        }
        return n
    }

    /// The characters every string matching `pattern` starts with: the literal run after a leading `^`
    /// (nil when the pattern has an alternation or a group flag, which could change that reading).
    static func literalPrefix(_ pattern: String) -> [Unicode.Scalar]? {
        let scalars = Array(pattern.unicodeScalars)
        guard scalars.first == "^", !scalars.contains("|"), !pattern.contains("(?") else { return nil }
        var prefix: [Unicode.Scalar] = []
        var i = 1
        while i < scalars.count, !#"\^$.|?*+()[]{}"#.unicodeScalars.contains(scalars[i]) {
            prefix.append(scalars[i])
            i += 1
        }
        if i < scalars.count, "?*{".unicodeScalars.contains(scalars[i]), !prefix.isEmpty { prefix.removeLast() }
        return prefix
    }

    // MARK: - JSON values as a validator sees them

    static func hasType(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("number", .number), ("array", .array), ("object", .object):
            return true
        case ("integer", .number(let n)):
            // Python's validators read 1.0 as an integer, as Draft 2020-12 says.
            guard !isIntegerLiteral(n) else { return true }
            return Double(n).map { $0.isFinite && $0 == $0.rounded() } ?? false
        default:
            return false
        }
    }

    static func isIntegerLiteral(_ n: String) -> Bool { !n.contains { $0 == "." || $0 == "e" || $0 == "E" } }

    /// JSON Schema equality (numbers by value, object members in any order, strings by code points), nil
    /// when numbers are too large to compare exactly.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool? {
        switch (a, b) {
        case let (.number(x), .number(y)):
            if x == y { return true }
            switch (isIntegerLiteral(x), isIntegerLiteral(y)) {
            case (true, true): return (x == "-0" ? "0" : x) == (y == "-0" ? "0" : y)
            case (false, false):
                guard let dx = Double(x), let dy = Double(y) else { return nil }
                return dx == dy
            default:
                let (integer, other) = isIntegerLiteral(x) ? (x, y) : (y, x)
                guard let d = Double(other) else { return nil }
                if !d.isFinite || d != d.rounded() { return false }
                guard let n = Int64(integer), abs(d) < 9e18 else { return nil }
                return Int64(d) == n
            }
        case let (.string(x), .string(y)):
            return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case let (.array(x), .array(y)):
            return x.count == y.count ? all(zip(x, y).map { equal($0, $1) }) : false
        case let (.object(x), .object(y)):
            let keys = { (m: Members) in Set(m.map { Array($0.key.utf8) }) }
            guard keys(x) == keys(y) else { return false }
            return all(x.map { m in equal(m.value, y.first { Array($0.key.utf8) == Array(m.key.utf8) }!.value) })
        default:
            return a == b
        }
    }

    /// All of three-valued verdicts.
    static func all(_ verdicts: [Bool?]) -> Bool? {
        verdicts.contains(false) ? false : verdicts.contains(nil) ? nil : true
    }

    /// Any of three-valued verdicts.
    static func any(_ verdicts: [Bool?]) -> Bool? {
        verdicts.contains(true) ? true : verdicts.contains(nil) ? nil : false
    }

    static func ruleNamePart(_ key: String) -> String {
        let cleaned = String(key.unicodeScalars.map { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) ? Character($0) : "-" })
        return cleaned.isEmpty ? "key" : cleaned
    }
}
