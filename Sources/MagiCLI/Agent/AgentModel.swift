import MagiChat
import MagiEngine

/// The model side of the agent loop: one assistant reply to a conversation, streamed as it decodes.
/// The engine in magi (``LocalAgentModel``); a scripted double in tests.
protocol AgentModel: Sendable {
    /// Generates the next assistant message after `conversation` (whose `tools` are offered).
    /// `shouldStop` is polled while generating; a stopped reply comes back with `wasInterrupted`.
    func reply(to conversation: Conversation, shouldStop: @escaping @Sendable () -> Bool,
               output: @escaping @Sendable (StreamEvent) -> Void) async throws -> AgentReply
}

/// One generated assistant message and how generation ended.
struct AgentReply: Sendable {
    var message: ChatMessage
    var wasInterrupted: Bool
    /// Timings and stop reason when a real engine generated it.
    var summary: GenerationSummary?
    /// What the user should know about how the reply was made (a tool offered unconstrained).
    var notices: [String] = []
}

/// The local engine as an ``AgentModel``: renders the conversation in the model's chat format and
/// generates on the turn's session, with tool calls constrained to the offered tools' schemas when
/// the format has tool calls (ChatML's `<tool_call>`, Mistral's `[TOOL_CALLS]`; see ``ToolCallGrammar``).
struct LocalAgentModel: AgentModel {
    let turn: ChatTurn
    let sampling: SamplingParameters
    let maxTokens: Int?
    /// Constrains the whole answer (`--grammar-file`, `--json-schema`); replaces the tool-call grammar.
    let answerConstraint: Grammar?
    /// Constrain tool calls to the tools' schemas.
    let constrainsToolCalls: Bool
    /// The first reply of a turn must be a tool call (`--tool-choice required`).
    var requiresCall = false

    func reply(to conversation: Conversation, shouldStop: @escaping @Sendable () -> Bool,
               output: @escaping @Sendable (StreamEvent) -> Void) async throws -> AgentReply {
        let prompt = try turn.promptTokens(for: conversation)
        var constraint: ChatTurn.Constraint?
        var notices: [String] = []
        if let answerConstraint {
            constraint = .whole(answerConstraint)
        } else if constrainsToolCalls || requiresCall, let format = turn.model.template.format,
                  let calls = try ToolCallGrammar(format: format, tools: conversation.tools, tokenizer: turn.model.tokenizer) {
            notices = calls.notices
            if requiresCall && conversation.messages.last?.role == .user {
                constraint = .whole(try calls.grammar(requiringCall: true))
            } else if constrainsToolCalls {
                constraint = .lazy(try calls.grammar(), trigger: calls.trigger)
            }
        }
        let reply = try await turn.generate(prompt: prompt, sampling: sampling, maxTokens: maxTokens, constraint: constraint,
                                            shouldStop: shouldStop, output: output)
        return AgentReply(message: reply.message, wasInterrupted: reply.wasInterrupted, summary: reply.summary, notices: notices)
    }
}
