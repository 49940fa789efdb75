import Foundation

/// Checks a tool call's arguments against the tool's JSON Schema before it runs, so that a model's
/// mistake comes back to it as a precise message instead of reaching the tool.
///
/// Checked: `type` (one or a list), `properties`, `required`, `additionalProperties: false`, `enum`,
/// `const`, `items`, `minItems`, `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`, `anyOf`
/// and `oneOf` (as `anyOf`). Other keywords are accepted without a check.
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
        case .number:
            let n = value.number ?? .nan
            if let min = schema["minimum"]?.number, n < min { return "\(path) must be at least \(min.shortText)" }
            if let max = schema["maximum"]?.number, n > max { return "\(path) must be at most \(max.shortText)" }
        case .null, .bool:
            break
        }
        return nil
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
