import Foundation

/// A parsed JSON value, for checking tool arguments and reading manifests and provider responses
/// (MagiTools does not depend on MagiChat's order-keeping `JSONValue`; key order does not matter here).
public enum JSONDocument: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONDocument])
    case object([String: JSONDocument])

    /// Parses `text`.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` when it is not JSON.
    public init(parsing text: String) throws(ToolError) {
        do {
            self = try JSONDecoder().decode(JSONDocument.self, from: Data(text.utf8))
        } catch {
            throw .invalidArguments("not valid JSON")
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONDocument].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONDocument].self)) }
    }

    /// The member `key` of an object, else nil.
    public subscript(key: String) -> JSONDocument? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string, else nil.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number, else nil.
    public var number: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The elements of an array, else nil.
    public var array: [JSONDocument]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The JSON type name (`integer` for whole numbers), as schemas and error messages use it.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
