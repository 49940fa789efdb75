import Foundation
import MagiAgent
import MagiChat
import MagiEngine

/// Where replies come from: the engine in this process (``ChatTurn``) or an OpenAI-compatible
/// server (``RemoteBackend``). The REPL, `-p`, pipes and scripts see only this; what only the
/// local engine has (its KV cache, its file) they reach through ``localTurn``.
protocol ChatBackend {
    /// The model as banners and `/model` name it: its file's path, or NAME at URL.
    var modelName: String { get }
    /// The window conversations are fitted into, in tokens.
    var contextSize: Int { get }
    /// Tokens the last reply left in use, when known.
    var contextUsed: Int? { get }
    /// The model card's sampling, when magi knows the model's family (Magistral: 0.7 / 0.95).
    var recommendedSampling: SamplingParameters? { get }
    /// The chat template's own system message, if any.
    var defaultSystemMessage: String? { get }
    /// The local engine's turn; nil for a remote model.
    var localTurn: ChatTurn? { get }

    /// The model that writes one turn's replies.
    func replier(sampling: SamplingParameters, maxTokens: Int?, constraint: AnswerConstraint?, constrainsToolCalls: Bool,
                 requiresCall: Bool) -> any AgentModel
    /// The tokens `conversation`'s prompt takes (an estimate for a remote model).
    func measure(_ conversation: Conversation) throws -> Int
    /// One line of timings and context use, for `-v` and `/set verbose on`.
    func statusLine(for summary: GenerationSummary) -> String
}

extension ChatBackend {
    /// `conversation` fitted into the window by ``ContextBudget``, keeping room for an answer of
    /// `maxTokens` (a quarter of the window when nil, and less when the messages that must stay
    /// leave less); the fit says what was left out.
    ///
    /// - Throws: ``ContextBudgetError`` when the system prompt, tools and latest message alone are too long.
    func fit(_ conversation: Conversation, maxTokens: Int?) throws -> ContextFit {
        do {
            return try ContextBudget(contextSize: contextSize, maxAnswerTokens: maxTokens).fit(conversation, measure: measure)
        } catch ContextBudgetError.doesNotFit(let tokens, let contextSize, _) where tokens < contextSize {
            // What must stay fits, with less room for the answer than wished: answer in what is left.
            return try ContextBudget(contextSize: contextSize, reserve: 1).fit(conversation, measure: measure)
        }
    }

    /// What to say when the reply was cut by a full context window, else nil.
    func contextFullNotice(for summary: GenerationSummary) -> String? {
        summary.reason == .contextFull ? "stopped: the context window of \(contextSize) tokens is full" : nil
    }
}

extension ChatTurn: ChatBackend {
    var modelName: String { model.path }
    var contextSize: Int { session.contextSize }
    var contextUsed: Int? { session.tokens.count }
    var defaultSystemMessage: String? { model.template.defaultSystemMessage?.content }
    var localTurn: ChatTurn? { self }

    func replier(sampling: SamplingParameters, maxTokens: Int?, constraint: AnswerConstraint?, constrainsToolCalls: Bool,
                 requiresCall: Bool) -> any AgentModel {
        LocalAgentModel(turn: self, sampling: sampling, maxTokens: maxTokens, answerConstraint: constraint?.grammar,
                        constrainsToolCalls: constrainsToolCalls, requiresCall: requiresCall)
    }
}
