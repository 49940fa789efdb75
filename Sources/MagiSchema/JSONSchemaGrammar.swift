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
/// The keywords are read as ``JSONSchemaValidator`` reads them (``SchemaKeywords``); `allOf`, which the
/// validator checks, is refused here as an unsupported keyword: a grammar does not merge its branches.
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

private struct Converter {
    let document: JSONValue
    var rules: [(name: String, body: String)] = []
    private var nameOfBody: [String: String] = [:]
    private var ruleNames: Set<String> = []
    /// How many subschemas deep ``visit(_:path:name:)`` is.
    private var nesting = 0
    private var referenceRules: [String: String] = [:]
    private var definedPrimitives: Set<String> = []
    /// Checks `enum` values against the keywords beside them and decides overlaps, reading the schema alike.
    private let validator: JSONSchemaValidator
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

    init(document: JSONValue) {
        self.document = document
        validator = JSONSchemaValidator(unchecked: document)
    }

    /// The keywords of the shared reading but `allOf`, which a grammar does not merge (yet): refused by name.
    static func checkKeywords(_ members: Members, path: String) throws {
        let known = { (key: String) in key != "allOf" && (SchemaKeywords.handled.contains(key) || SchemaKeywords.annotations.contains(key)) }
        if let key = members.first(where: { !known($0.key) })?.key { throw JSONSchemaError.unsupportedKeyword(key, path: path) }
    }

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
            return try reference(SchemaKeywords.referenceName(ref, members, path: path), path: path)
        }
        for keyword in ["anyOf", "oneOf"] where schema[keyword] != nil {
            return try alternatives(keyword, members, path: path, name: name)
        }
        if schema["const"] != nil || schema["enum"] != nil { return try choice(members, path: path, name: name) }
        let types = try schema["type"].map { try SchemaKeywords.typeNames($0, path: path) }
        var choices: [String] = []
        for type in types ?? SchemaKeywords.types {
            if let choice = try typed(type, schema, path: path, name: types?.count == 1 ? name : "\(name)-\(type)") {
                choices.append(choice)
            }
        }
        if types == nil && choices == SchemaKeywords.types { return primitive("value") }
        if choices.count <= 1 { return choices.first }
        return rule(name, choices.joined(separator: " | "))
    }

    /// `anyOf` / `oneOf`, with the keywords beside the list merged into each branch.
    private mutating func alternatives(_ keyword: String, _ members: Members, path: String, name: String) throws -> String? {
        guard case .array(let list)? = members.first(where: { $0.key == keyword })?.value, !list.isEmpty else {
            throw JSONSchemaError.invalidValue(keyword: keyword, path: path, message: "must be a non-empty array")
        }
        var branches = list.enumerated().map { (schema: $1, path: "\(path)/\(keyword)/\($0)") }
        let beside = members.filter { $0.key != keyword && !SchemaKeywords.annotations.contains($0.key) }
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
        var values = try SchemaKeywords.finiteValues(.object(members), path: path) ?? []
        let rest = members.filter { $0.key != "enum" && $0.key != "const" && !SchemaKeywords.annotations.contains($0.key) }
        if !rest.isEmpty {
            try SchemaKeywords.check(.object(rest), path: path)
            values = values.filter { validator.accepts($0, .object(rest)) == true }
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
        let minimum = try SchemaKeywords.count("minLength", schema, path: path) ?? 0
        let maximum = try SchemaKeywords.count("maxLength", schema, path: path)
        if let maximum, maximum < minimum { return nil }
        if let format = try SchemaKeywords.format(schema, path: path) {
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
        let minimum = try SchemaKeywords.count("minItems", schema, path: path) ?? 0
        let maximum = try SchemaKeywords.count("maxItems", schema, path: path)
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
        var properties = try SchemaKeywords.properties(schema, path: path)
        let required = try SchemaKeywords.required(schema, path: path)
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
                let fx = try SchemaKeywords.finiteValues(a, path: path), fy = try SchemaKeywords.finiteValues(b, path: path)
                var values = fx ?? fy ?? []
                if let fx, let fy { values = fx.filter { v in fy.contains { SchemaKeywords.equal(v, $0) == true } } }
                if values.isEmpty { return .bool(false) }
                out.append(("enum", .array(values)))
            case "properties", "additionalProperties":
                done.formUnion(["properties", "additionalProperties"])
                let px = try SchemaKeywords.properties(a, path: path), py = try SchemaKeywords.properties(b, path: path)
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
                let tx = try SchemaKeywords.typeNames(x!, path: path), ty = try SchemaKeywords.typeNames(y!, path: path)
                var both: [String] = []
                for t in tx {
                    let integer = (t == "integer" && ty.contains("number")) || (t == "number" && ty.contains("integer"))
                    let common: String? = ty.contains(t) ? t : integer ? "integer" : nil
                    if let common, !both.contains(common) { both.append(common) }
                }
                if both.isEmpty { return .bool(false) }
                out.append((key, both.count == 1 ? .string(both[0]) : .array(both.map { .string($0) })))
            case "required":
                var names = try SchemaKeywords.required(a, path: path)
                for n in try SchemaKeywords.required(b, path: path) where !names.contains(n) { names.append(n) }
                out.append((key, .array(names.map { .string($0) })))
            case "items":
                for items in [x!, y!] {
                    guard case .array = items else { continue }
                    throw JSONSchemaError.invalidValue(keyword: "items", path: path, message: "tuple form (an array of schemas) is not supported")
                }
                out.append((key, try intersect(x!, y!, path: path + "/items", depth: depth + 1)))
            case "minItems", "minLength", "maxItems", "maxLength":
                let m = try SchemaKeywords.count(key, a, path: path)!, n = try SchemaKeywords.count(key, b, path: path)!
                out.append((key, .number(String(key.hasPrefix("min") ? max(m, n) : min(m, n)))))
            case "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum":
                guard case .number(let m)? = x, case .number(let n)? = y, let order = SchemaKeywords.compare(m, n) else {
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
            let ref = try SchemaKeywords.referenceName(ref, members, path: path)
            guard let target = resolve(ref) else { throw JSONSchemaError.unresolvedReference(ref, path: path) }
            return try normalized(target, path: String(ref.dropFirst()), depth: depth + 1)
        }
        return .object(members.filter { !SchemaKeywords.annotations.contains($0.key) })
    }


    // MARK: - Overlaps

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
            if let values = try? SchemaKeywords.finiteValues(x, path: ""),
               values.allSatisfy({ validator.accepts($0, y) == false || validator.accepts($0, x) == false }) {
                return true
            }
        }
        return Self.typeSet(a).intersection(Self.typeSet(b)).allSatisfy { disjoint(as: $0, a, b, depth: depth) }
    }

    /// True when no value of type `type` can satisfy both `a` and `b`.
    private func disjoint(as type: String, _ a: JSONValue, _ b: JSONValue, depth: Int) -> Bool {
        func bounds(_ s: JSONValue, _ low: String, _ high: String) -> (Int, Int) {
            ((try? SchemaKeywords.count(low, s, path: "")) ?? 0, (try? SchemaKeywords.count(high, s, path: "")) ?? Int.max)
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
                let requiredY = (try? SchemaKeywords.required(y, path: "")) ?? []
                for k in (try? SchemaKeywords.required(x, path: "")) ?? [] {
                    if property(y, k) == .bool(false) { return true }
                    if requiredY.contains(k) && disjoint(property(x, k), property(y, k), depth: depth + 1) { return true }
                }
            }
            return false
        default:
            return false
        }
    }

    /// The JSON types `schema` allows by its `type` (`integer` as `number`).
    static func typeSet(_ schema: JSONValue) -> Set<String> {
        guard let t = schema["type"], let names = try? SchemaKeywords.typeNames(t, path: "") else { return Set(SchemaKeywords.types) }
        return Set(names.map { $0 == "integer" ? "number" : $0 })
    }

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

    static func ruleNamePart(_ key: String) -> String {
        let cleaned = String(key.unicodeScalars.map { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) ? Character($0) : "-" })
        return cleaned.isEmpty ? "key" : cleaned
    }
}
