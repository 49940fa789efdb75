/// Why an MCP server could not be configured, started or used. Each message is one line that names
/// the server; a tool call reports it to the model as a ``ToolError``.
public enum MCPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration document is unusable.
    case invalidConfiguration(String)
    /// The server's program could not be started.
    case cannotStart(server: String, reason: String)
    /// The server is gone: it exited, crashed, closed its output, or magi closed it.
    case serverGone(server: String, reason: String)
    /// The server did not answer a request within its time.
    case timedOut(server: String, method: String, seconds: Double)
    /// The server answered a request with a JSON-RPC error.
    case errorResponse(server: String, method: String, code: Int, message: String)
    /// A remote server answered with an HTTP status other than success (a wrong token: 401).
    case httpStatus(server: String, status: Int, message: String)
    /// A remote server could not be reached (connection refused, unknown host, no answer in time).
    case unreachable(server: String, reason: String)
    /// The server broke the protocol: a malformed answer, a message over the size limit, nothing
    /// but lines that are not JSON-RPC, or a protocol version magi does not speak.
    case protocolViolation(server: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): return "MCP configuration: \(reason)"
        case let .cannotStart(server, reason): return "MCP server '\(server)' cannot start: \(reason)"
        case let .serverGone(server, reason): return "MCP server '\(server)' \(reason)"
        case let .timedOut(server, method, seconds):
            return "MCP server '\(server)' did not answer \(method) within \(Self.format(seconds)) s"
        case let .errorResponse(server, method, code, message):
            return "MCP server '\(server)' answered \(method) with an error: \(message) (code \(code))"
        case let .httpStatus(server, status, message):
            return "MCP server '\(server)' answered HTTP \(status)" + (message.isEmpty ? "" : ": \(message)")
        case let .unreachable(server, reason): return "MCP server '\(server)' cannot be reached: \(reason)"
        case let .protocolViolation(server, reason): return "MCP server '\(server)' broke the protocol: \(reason)"
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

extension Duration {
    /// The duration in seconds, for messages and dispatch deadlines.
    var mcpSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
