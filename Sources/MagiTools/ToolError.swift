/// Why a tool call produced no result; the message goes back to the model so it can recover.
public enum ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model called a tool that is not offered.
    case unknownTool(name: String, known: [String])
    /// The arguments are not JSON or do not match the tool's schema.
    case invalidArguments(String)
    /// The tool ran longer than its time limit.
    case timedOut(seconds: Double)
    /// The user stopped the turn (Ctrl-C) while the tool ran.
    case cancelled
    /// The user or the permission settings did not allow the call.
    case refused(String)
    /// The tool ran and failed.
    case failed(String)

    public var description: String {
        switch self {
        case let .unknownTool(name, known):
            return "no tool named '\(name)'; the tools are: " + (known.isEmpty ? "(none)" : known.joined(separator: ", "))
        case let .invalidArguments(reason): return "invalid arguments: \(reason)"
        case let .timedOut(seconds): return "the tool did not finish within \(Self.format(seconds)) s and was stopped"
        case .cancelled: return "the user stopped the tool"
        case let .refused(reason): return "not run: \(reason)"
        case let .failed(reason): return "the tool failed: \(reason)"
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
