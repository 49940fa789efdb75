import Foundation

/// Checks a tool call's arguments against the tool's JSON Schema before it runs, so that a model's
/// mistake comes back to it as a precise message instead of reaching the tool.
///
/// Checked: `type` (one or a list), `properties`, `required`, `additionalProperties: false`, `enum`,
/// `const`, `items`, `minItems`, `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`, `format` (`date`, `time`, `date-time`, `uuid`, as RFC 3339
/// and RFC 4122 spell them), `anyOf` and `oneOf` (as `anyOf`). Other keywords are accepted without a
/// check. Unlike the grammar that constrains generation, this reads the schema as written: properties
/// not declared are allowed unless `additionalProperties` is false.
public struct ToolArgumentValidator: Sendable {
    private let schema: JSONValue

    /// A validator for the schema in `schemaText`.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` when the schema is not JSON.
    public init(schema schemaText: String) throws(ToolError) {
        schema = try JSONValue(parsingToolJSON: schemaText)
    }

    /// The parsed arguments when `arguments` (JSON text; empty counts as `{}`) matches the schema.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` naming the first mismatch and where it is.
    @discardableResult
    public func validate(_ arguments: String) throws(ToolError) -> JSONValue {
        let trimmed = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let value = try JSONValue(parsingToolJSON: trimmed.isEmpty ? "{}" : trimmed)
        if let problem = Self.problem(with: value, schema: schema, path: "arguments") { throw .invalidArguments(problem) }
        return value
    }

    private static func problem(with value: JSONValue, schema: JSONValue, path: String) -> String? {
        guard case .object = schema else { return nil }
        for keyword in ["anyOf", "oneOf"] {
            if let branches = schema[keyword]?.array,
               !branches.contains(where: { problem(with: value, schema: $0, path: path) == nil }) {
                return "\(path) matches none of the allowed forms"
            }
        }
        if let expected = schema["type"] {
            let types = expected.array?.compactMap(\.string) ?? expected.string.map { [$0] } ?? []
            let actual = value.typeName
            if !types.isEmpty && !types.contains(where: { $0 == actual || ($0 == "number" && actual == "integer") }) {
                return "\(path) should be \(types.joined(separator: " or ")), not \(actual)"
            }
        }
        if let constant = schema["const"], !constant.sameValue(as: value) { return "\(path) must be \(constant.shortText)" }
        if let allowed = schema["enum"]?.array, !allowed.contains(where: { $0.sameValue(as: value) }) {
            return "\(path) must be one of " + allowed.map(\.shortText).joined(separator: ", ")
        }
        switch value {
        case .object(let members):
            for name in schema["required"]?.array?.compactMap(\.string) ?? [] where value[name] == nil {
                return "\(path).\(name) is required"
            }
            let properties = schema["properties"]
            for (name, member) in members {
                if let sub = properties?[name] {
                    if let p = problem(with: member, schema: sub, path: "\(path).\(name)") { return p }
                } else if schema["additionalProperties"] == .bool(false) {
                    let allowed: [String]
                    if case .object(let declared)? = properties { allowed = declared.map(\.key) } else { allowed = [] }
                    return "\(path) has an unexpected member '\(name)'; allowed: " + allowed.joined(separator: ", ")
                }
            }
        case .array(let items):
            if let min = schema["minItems"]?.number, Double(items.count) < min { return "\(path) needs at least \(Int(min)) items" }
            if let max = schema["maxItems"]?.number, Double(items.count) > max { return "\(path) takes at most \(Int(max)) items" }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() {
                    if let p = problem(with: item, schema: itemSchema, path: "\(path)[\(i)]") { return p }
                }
            }
        case .string(let s):
            if let min = schema["minLength"]?.number, Double(s.count) < min { return "\(path) needs at least \(Int(min)) characters" }
            if let max = schema["maxLength"]?.number, Double(s.count) > max { return "\(path) takes at most \(Int(max)) characters" }
            if let format = schema["format"]?.string, let valid = StringFormat.check(s, format: format), !valid {
                return "\(path) is not a \(format) (\(StringFormat.example(format)))"
            }
        case .number:
            let n = value.number ?? .nan
            if let min = schema["minimum"]?.number, n < min { return "\(path) must be at least \(min.shortText)" }
            if let max = schema["maximum"]?.number, n > max { return "\(path) must be at most \(max.shortText)" }
            if let min = schema["exclusiveMinimum"]?.number, n <= min { return "\(path) must be more than \(min.shortText)" }
            if let max = schema["exclusiveMaximum"]?.number, n >= max { return "\(path) must be less than \(max.shortText)" }
        case .null, .bool:
            break
        }
        return nil
    }
}

/// The string formats the validator checks, as RFC 3339 (dates and times) and RFC 4122 (UUIDs) write them.
enum StringFormat {
    /// Whether `text` is a `format`; nil for a format not checked.
    static func check(_ text: String, format: String) -> Bool? {
        let b = Array(text.utf8)
        switch format {
        case "date": return b.count == 10 && isDate(b[...])
        case "time": return isTime(b[...])
        case "date-time": return b.count > 11 && isDate(b[..<10]) && (b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t")) && isTime(b[11...])
        case "uuid":
            return b.count == 36 && b.indices.allSatisfy { i in
                [8, 13, 18, 23].contains(i) ? b[i] == UInt8(ascii: "-") : Character(UnicodeScalar(b[i])).isHexDigit
            }
        default: return nil
        }
    }

    static func example(_ format: String) -> String {
        switch format {
        case "date": return "such as 2024-02-29"
        case "time": return "such as 13:45:00Z or 13:45:00.250+02:00"
        case "date-time": return "such as 2024-02-29T13:45:00Z"
        default: return "such as 123e4567-e89b-12d3-a456-426614174000"
        }
    }

    /// The number in `digits` (ASCII digits only), else nil.
    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    /// `YYYY-MM-DD`, a day that exists.
    private static func isDate(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count == 10, b[s + 4] == UInt8(ascii: "-"), b[s + 7] == UInt8(ascii: "-"),
              let year = number(b[s..<s + 4]), let month = number(b[s + 5..<s + 7]), let day = number(b[s + 8..<s + 10]),
              year >= 1, (1...12).contains(month) else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    /// `hh:mm:ss[.fraction](Z|±hh:mm)`.
    private static func isTime(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count >= 9, b[s + 2] == UInt8(ascii: ":"), b[s + 5] == UInt8(ascii: ":"),
              let h = number(b[s..<s + 2]), let m = number(b[s + 3..<s + 5]), let sec = number(b[s + 6..<s + 8]),
              h < 24, m < 60, sec < 60 else { return false }
        var rest = b[(s + 8)...]
        if rest.first == UInt8(ascii: ".") {
            let digits = rest.dropFirst().prefix { (48...57).contains($0) }
            guard !digits.isEmpty else { return false }
            rest = rest.dropFirst(1 + digits.count)
        }
        if rest.count == 1, rest.first == UInt8(ascii: "Z") || rest.first == UInt8(ascii: "z") { return true }
        let r = rest.startIndex
        guard rest.count == 6, rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-"), rest[r + 3] == UInt8(ascii: ":"),
              let oh = number(rest[r + 1..<r + 3]), let om = number(rest[r + 4..<r + 6]) else { return false }
        return oh < 24 && om < 60
    }
}

private extension Double {
    var shortText: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}

private extension JSONValue {
    var shortText: String {
        switch self {
        case .null, .bool, .number: return compactText
        case .string(let s): return "\"\(s)\""
        case .array: return "[…]"
        case .object: return "{…}"
        }
    }

    /// Equality as JSON Schema means it: numbers by value (`1` is `1.0`), everything else exactly.
    func sameValue(as other: JSONValue) -> Bool {
        if let a = number, let b = other.number { return a == b }
        switch (self, other) {
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.sameValue(as: $1) }
        case let (.object(x), .object(y)):
            return x.count == y.count && x.allSatisfy { member in other[member.key].map { member.value.sameValue(as: $0) } == true }
        default: return self == other
        }
    }
}
