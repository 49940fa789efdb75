/// A capability the model may call: a name, a description and a JSON Schema for its arguments,
/// run with a time limit and cancelled with the turn (Ctrl-C).
public protocol Tool: Sendable {
    /// The name the model calls it by (letters, digits, `_` and `-`).
    var name: String { get }
    /// What it does, for the model.
    var description: String { get }
    /// The JSON Schema of its arguments, as JSON text.
    var parametersSchema: String { get }
    /// What running it reaches beyond magi's own memory; decides whether a call needs permission.
    var access: ToolAccess { get }
    /// The longest a call may take before it is abandoned and reported as timed out.
    var timeout: Duration { get }
    /// Runs the tool on arguments already checked against the schema (JSON text) and returns the
    /// text the model sees as the result. Throws a `ToolError` with a message the model can act on.
    /// Should stop promptly when its task is cancelled.
    func run(arguments: String) async throws -> String
}

extension Tool {
    /// A pure computation by default.
    public var access: ToolAccess { [] }
    /// Thirty seconds by default.
    public var timeout: Duration { .seconds(30) }
}

/// What a tool reaches when it runs: a call to a tool with any of these needs the user's permission.
public struct ToolAccess: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Talks to other machines.
    public static let network = ToolAccess(rawValue: 1 << 0)
    /// Runs code (sandboxed or not) or another program.
    public static let code = ToolAccess(rawValue: 1 << 1)
    /// Reads or writes the user's files.
    public static let files = ToolAccess(rawValue: 1 << 2)

    /// "network, code" — for permission prompts and refusals.
    public var summary: String {
        [(Self.network, "network"), (Self.code, "code"), (Self.files, "files")]
            .filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}
