import Foundation
import MagiSchema

/// Checks a tool call's arguments against the tool's JSON Schema before it runs, so that a model's
/// mistake comes back to it as a precise message instead of reaching the tool.
///
/// The schema is read by ``JSONSchemaValidator``, as the grammar that constrains generation reads it:
/// `oneOf` means exactly one branch, `anyOf` at least one. Unlike the grammar it follows the schema as
/// written (properties not declared are allowed unless `additionalProperties` is false). A keyword it
/// cannot read is named in ``unsupported`` (the grammar's refusal, word for word) and left unchecked.
public struct ToolArgumentValidator: Sendable {
    private let validator: JSONSchemaValidator

    /// A validator for the schema in `schemaText`.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` when the schema is not JSON.
    public init(schema schemaText: String) throws(ToolError) {
        validator = JSONSchemaValidator(schema: try JSONValue(parsingToolJSON: schemaText))
    }

    /// What in the schema goes unchecked, in one line naming the keyword and where it is; nil when
    /// every keyword is checked.
    public var unsupported: String? { validator.unsupported.map { "\($0)" } }

    /// The parsed arguments when `arguments` (JSON text; empty counts as `{}`) matches the schema.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` naming the first mismatch and where it is.
    @discardableResult
    public func validate(_ arguments: String) throws(ToolError) -> JSONValue {
        let trimmed = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let value = try JSONValue(parsingToolJSON: trimmed.isEmpty ? "{}" : trimmed)
        if let problem = validator.problem(with: value, at: "arguments") { throw .invalidArguments(problem) }
        return value
    }
}
