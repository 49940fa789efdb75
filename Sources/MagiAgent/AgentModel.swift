import MagiChat
import MagiEngine

/// The model side of the agent loop: one assistant reply to a conversation, streamed as it decodes.
/// The local engine (``LocalAgentModel``), a remote server, or a scripted double in tests.
public protocol AgentModel: Sendable {
    /// Generates the next assistant message after `conversation` (whose `tools` are offered).
    /// `stop` is polled while generating; a stopped reply comes back with `wasInterrupted`.
    func reply(to conversation: Conversation, stop: StopFlag,
               output: @escaping @Sendable (StreamEvent) -> Void) async throws -> AgentReply
}

/// One generated assistant message and how generation ended.
public struct AgentReply: Sendable {
    public var message: ChatMessage
    public var wasInterrupted: Bool
    /// Timings and stop reason when a real engine generated it.
    public var summary: GenerationSummary?
    /// What the user should know about how the reply was made (a tool offered unconstrained).
    public var notices: [String] = []

    public init(message: ChatMessage, wasInterrupted: Bool, summary: GenerationSummary?, notices: [String] = []) {
        self.message = message
        self.wasInterrupted = wasInterrupted
        self.summary = summary
        self.notices = notices
    }
}

/// The local engine as an ``AgentModel``: renders the conversation in the model's chat format and
/// generates on the turn's session, with tool calls constrained to the offered tools' schemas when
/// the format has tool calls (ChatML's `<tool_call>`, Mistral's `[TOOL_CALLS]`; see ``ToolCallGrammar``).
public struct LocalAgentModel: AgentModel {
    public let turn: ChatTurn
    public let sampling: SamplingParameters
    public let maxTokens: Int?
    /// Constrains the whole answer (`--grammar-file`, `--json-schema`); replaces the tool-call grammar.
    public let answerConstraint: Grammar?
    /// Constrain tool calls to the tools' schemas.
    public let constrainsToolCalls: Bool
    /// The first reply of a turn must be a tool call (`--tool-choice required`).
    public var requiresCall = false

    public init(turn: ChatTurn, sampling: SamplingParameters, maxTokens: Int?, answerConstraint: Grammar?,
                constrainsToolCalls: Bool, requiresCall: Bool = false) {
        self.turn = turn
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.answerConstraint = answerConstraint
        self.constrainsToolCalls = constrainsToolCalls
        self.requiresCall = requiresCall
    }

    /// The reply to `conversation` as a stream of ``ChatTurn/Event``s, ending with the finished reply;
    /// the notices about tools offered unconstrained come first, beside the stream.
    ///
    /// - Throws: ``ChatTurnError`` when the prompt cannot be rendered or is too long, ``JSONSchemaError``
    ///   when the tools' schemas cannot be compiled together.
    public func stream(_ conversation: Conversation, stop: StopFlag = StopFlag()) throws
        -> (notices: [String], events: AsyncThrowingStream<ChatTurn.Event, Error>) {
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
        return (notices, turn.stream(prompt: prompt, sampling: sampling, maxTokens: maxTokens, constraint: constraint, stop: stop))
    }

    public func reply(to conversation: Conversation, stop: StopFlag,
                      output: @escaping @Sendable (StreamEvent) -> Void) async throws -> AgentReply {
        let (notices, events) = try stream(conversation, stop: stop)
        let reply = try await ChatTurn.reply(from: events, stop: stop, output: output)
        return AgentReply(message: reply.message, wasInterrupted: reply.wasInterrupted, summary: reply.summary, notices: notices)
    }
}
