import Foundation
import MagiAgent
import MagiChat
import MagiEngine

/// Where replies come from: the engine in this process (``ChatTurn``, see LocalBackend.swift) or an
/// OpenAI-compatible server (``RemoteBackend``). The REPL, `-p`, pipes and scripts see only this.
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
    /// The model as the REPL's banner names it: its file's name, or NAME at URL.
    var shortName: String { get }
    /// The KV cache a session saves and restores beside the conversation; nil for a remote model.
    var cache: InferenceSession? { get }
    /// Why `/image` cannot attach a picture for this model, or nil when it can.
    var imageRefusal: String? { get }

    /// The backend with a window of `size` tokens (`/set ctx`).
    func resized(to size: Int) -> BackendChange
    /// The backend on another model (`/model NAME`): a path or alias for the local engine, a name the
    /// server knows for a remote one. `contextSize` is the window asked for, `system` the system message
    /// (what `--context-shift` keeps); `loaded` is told of a model file once it is read in.
    ///
    /// - Throws: when the model cannot be loaded.
    func switched(to model: String, contextSize: Int?, system: String?, loaded: (LocalModel) -> Void) throws -> BackendChange
    /// What `/show info`, `/show template` and `/show license` print.
    func details(_ subject: ShowSubject) -> String
    /// One line for `/context` on the prompt `conversation`: how much of it the KV cache holds, or
    /// that the counts are estimates.
    func cacheReport(for conversation: Conversation) throws -> String

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

/// A backend after `/set ctx` or `/model`, with what to tell the user.
struct BackendChange {
    var backend: any ChatBackend
    /// The window the new backend chose, when it chose one (a local model's limits); nil: as asked.
    var window: Int?
    /// Warnings about the choice (a window capped by memory, say), one line each.
    var notices: [String] = []
    /// The line confirming the change.
    var confirmation: String
}

