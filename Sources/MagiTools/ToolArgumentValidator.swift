import Foundation

/// Checks a tool call's arguments against the tool's JSON Schema before it runs, so that a model's
/// mistake comes back to it as a precise message instead of reaching the tool.
///
/// Checked: `type` (one or a list), `properties`, `required`, `additionalProperties: false`, `enum`,
/// `const`, `items`, `minItems`, `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`, `anyOf`
/// and `oneOf` (as `anyOf`). Other keywords are accepted without a check.
public struct ToolArgumentValidator: Sendable {
    private let schema: JSONDocument

    /// A validator for the schema in `schemaText`.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` when the schema is not JSON.
    public init(schema schemaText: String) throws(ToolError) {
        schema = try JSONDocument(parsing: schemaText)
    }

    /// The parsed arguments when `arguments` (JSON text; empty counts as `{}`) matches the schema.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` naming the first mismatch and where it is.
    @discardableResult
    public func validate(_ arguments: String) throws(ToolError) -> JSONDocument {
        let trimmed = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let value = try JSONDocument(parsing: trimmed.isEmpty ? "{}" : trimmed)
        if let problem = Self.problem(with: value, schema: schema, path: "arguments") { throw .invalidArguments(problem) }
        return value
    }

    private static func problem(with value: JSONDocument, schema: JSONDocument, path: String) -> String? {
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
        if let constant = schema["const"], constant != value { return "\(path) must be \(constant.shortText)" }
        if let allowed = schema["enum"]?.array, !allowed.contains(value) {
            return "\(path) must be one of " + allowed.map(\.shortText).joined(separator: ", ")
        }
        switch value {
        case .object(let members):
            for name in schema["required"]?.array?.compactMap(\.string) ?? [] where members[name] == nil {
                return "\(path).\(name) is required"
            }
            let properties: [String: JSONDocument]
            if case .object(let p)? = schema["properties"] { properties = p } else { properties = [:] }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let sub = properties[name] {
                    if let p = problem(with: member, schema: sub, path: "\(path).\(name)") { return p }
                } else if schema["additionalProperties"] == .bool(false) {
                    return "\(path) has an unexpected member '\(name)'; allowed: " + properties.keys.sorted().joined(separator: ", ")
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
        case .number(let n):
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

private extension JSONDocument {
    var shortText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let n): return n.shortText
        case .string(let s): return "\"\(s)\""
        case .array: return "[…]"
        case .object: return "{…}"
        }
    }
}
