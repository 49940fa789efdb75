import MagiJSON

typealias Members = [(key: String, value: JSONValue)]

/// How magi reads the keywords of a JSON Schema: which it knows, their shapes, and JSON values as a
/// validator compares them. Shared by ``JSONSchemaGrammar`` and ``JSONSchemaValidator``, so a tool's
/// grammar and the check of its arguments read a schema alike.
enum SchemaKeywords {

    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment",
                                           "deprecated", "readOnly", "writeOnly", "$defs", "definitions"]
    static let handled: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "minItems",
                                       "maxItems", "minLength", "maxLength", "pattern", "enum", "const", "anyOf",
                                       "oneOf", "allOf", "$ref", "format", "minimum", "maximum", "exclusiveMinimum",
                                       "exclusiveMaximum"]
    /// The JSON types, in the order a type-less schema offers them (`integer` is a kind of `number`).
    static let types = ["object", "array", "string", "number", "boolean", "null"]

    // MARK: - Reading keywords

    /// Refuses, by name, a keyword in `schema` or its subschemas that ``JSONSchemaValidator`` could not
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
            case ("anyOf", .array(let list)), ("oneOf", .array(let list)), ("allOf", .array(let list)):
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

}
