/// A capability the model may call: a name, a description and a JSON Schema for its arguments,
/// run with a time limit and cancelled with the turn (Ctrl-C).
public protocol Tool: Sendable {
    /// The name the model calls it by (letters, digits, `_` and `-`).
    var name: String { get }
    /// What it does, for the model.
    var description: String { get }
    /// The JSON Schema of its arguments, as JSON text.
    var parametersSchema: String { get }
    /// Runs the tool on arguments already checked against the schema (JSON text) and returns the
    /// text the model sees as the result. Throws a `ToolError` with a message the model can act on.
    func run(arguments: String) async throws -> String
}
