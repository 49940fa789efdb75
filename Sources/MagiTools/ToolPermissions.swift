import Foundation

/// Decides whether a tool call may run: tools that reach nothing beyond magi (``ToolAccess`` empty)
/// always may; others need `--yes`, a place on the allow-list, an earlier "always" for that tool,
/// or the user's answer when there is someone to ask. Without any of these the call is refused —
/// never run silently.
// Sendable by hand: `allowed` is guarded by `lock`; the rest is immutable.
public final class ToolPermissions: @unchecked Sendable {
    /// The user's answer to "run this call?".
    public enum Answer: Sendable, Equatable {
        case yes, no
        /// Yes, and do not ask again for this tool in this session.
        case always
    }

    private let lock = NSLock()
    private let allowAll: Bool
    private var allowed: Set<String>
    /// Asks the user about a call (tool name, arguments); nil when nobody can be asked (a pipe).
    private let ask: (@Sendable (any Tool, String) async -> Answer)?

    /// - Parameters:
    ///   - allowAll: `--yes`: every call runs.
    ///   - allowList: tools that run without asking (`--allow-tool`).
    ///   - ask: how to ask the user, or nil when standard input is not a terminal.
    public init(allowAll: Bool = false, allowList: Set<String> = [],
                ask: (@Sendable (any Tool, String) async -> Answer)? = nil) {
        self.allowAll = allowAll
        self.allowed = allowList
        self.ask = ask
    }

    /// What happens to a call of a tool, as `/tools` shows it.
    public enum Policy: String, Sendable {
        /// It reaches nothing beyond magi: it always runs.
        case runs = "runs"
        /// `--yes`, the allow-list or an earlier "always" lets it run.
        case allowed = "allowed"
        /// The user is asked at each call.
        case asks = "asks first"
        /// Nobody can be asked and nothing allows it.
        case refused = "refused (needs --yes or --allow-tool)"
    }

    /// The policy for calls of `tool` now.
    public func policy(for tool: any Tool) -> Policy {
        if tool.access.isEmpty { return .runs }
        if allowAll || lock.withLock({ allowed.contains(tool.name) }) { return .allowed }
        return ask == nil ? .refused : .asks
    }

    /// nil when `tool` may run on `arguments`, else the refusal to report to the model and the user.
    public func refusal(for tool: any Tool, arguments: String) async -> ToolError? {
        if tool.access.isEmpty || allowAll || lock.withLock({ allowed.contains(tool.name) }) { return nil }
        guard let ask else {
            return .refused("'\(tool.name)' uses \(tool.access.summary) and needs permission: pass --yes or --allow-tool \(tool.name)")
        }
        switch await ask(tool, arguments) {
        case .yes: return nil
        case .always:
            _ = lock.withLock { allowed.insert(tool.name) }
            return nil
        case .no: return .refused("the user declined to run '\(tool.name)'")
        }
    }
}
