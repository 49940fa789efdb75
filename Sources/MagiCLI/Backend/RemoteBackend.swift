import Foundation
import MagiAgent
import MagiChat
import MagiEngine

/// A model behind an OpenAI-compatible server (`--remote URL`): vLLM, llama.cpp's server, Ollama,
/// Mistral's API or another `magi serve`. Conversations are fitted into ``contextSize`` by an
/// estimate of their tokens, as the server's tokenizer is out of reach.
struct RemoteBackend: ChatBackend {
    var client: RemoteChatClient
    var contextSize: Int

    init(client: RemoteChatClient, contextSize: Int) {
        self.client = client
        self.contextSize = contextSize
    }

    var modelName: String { "\(client.model) at \(client.baseURL)" }
    var contextUsed: Int? { nil }
    var defaultSystemMessage: String? { nil }
    var shortName: String { modelName }
    var cache: InferenceSession? { nil }
    var imageRefusal: String? { nil }

    func resized(to size: Int) -> BackendChange {
        var next = self
        next.contextSize = size
        return BackendChange(backend: next, confirmation: "ctx is now \(size): conversations are fitted into it before they are sent")
    }

    func switched(to model: String, contextSize: Int?, system: String?, loaded: (LocalModel) -> Void) -> BackendChange {
        var next = self
        next.client.model = model
        return BackendChange(backend: next, confirmation: "now on \(next.modelName)")
    }

    func details(_ subject: ShowSubject) -> String {
        "\(modelName): a remote model; its server knows its details (context here: \(contextSize) tokens)"
    }

    func cacheReport(for conversation: Conversation) -> String {
        "token counts are estimates: the server's tokenizer is not at hand"
    }

    /// Magistral's card settings when the model's name says Magistral.
    var recommendedSampling: SamplingParameters? {
        client.model.lowercased().contains("magistral") ? RecommendedSettings.forFormat(.mistralV13)?.sampling : nil
    }

    func replier(sampling: SamplingParameters, maxTokens: Int?, constraint: AnswerConstraint?, constrainsToolCalls: Bool,
                 requiresCall: Bool) -> any AgentModel {
        var options = RemoteChatClient.Options()
        options.temperature = sampling.temperature
        options.topP = sampling.topP
        options.seed = sampling.seed
        options.maxTokens = maxTokens
        options.responseFormat = constraint?.responseFormat
        options.grammar = constraint?.gbnf
        options.requiresToolCall = requiresCall
        return RemoteAgentModel(client: client, options: options, answerGrammar: constraint?.grammar)
    }

    /// About one token per 3.5 bytes of text (a little above what BPE vocabularies give English and
    /// code, so the estimate errs on the side of room): the server's tokenizer is out of reach.
    static func estimatedTokens(_ text: String) -> Int { (text.utf8.count * 2 + 6) / 7 }

    /// The messages and tools as rendered JSON, estimated by ``estimatedTokens(_:)``, and an image
    /// as the 1,024 tokens a Pixtral-type encoder gives a picture of about 512×512, not as its bytes.
    func measure(_ conversation: Conversation) throws -> Int {
        var images = 0
        let messages = conversation.messages.map { message in
            var text = message
            text.parts.removeAll { part in if case .image = part { images += 1; return true } else { return false } }
            return Self.estimatedTokens(OpenAIWireFormat.json(for: text).compactText)
        }.reduce(0, +)
        let tools = conversation.tools.map { Self.estimatedTokens(OpenAIWireFormat.json(for: $0).compactText) }.reduce(0, +)
        return messages + tools + 4 * conversation.messages.count + 1024 * images
    }

    func statusLine(for summary: GenerationSummary) -> String {
        let wait = String(format: "%.2f", summary.promptSeconds)
        let generation = String(format: "%.1f", summary.generationTokensPerSecond)
        return "\(client.model) at \(client.baseURL) · prompt: \(summary.promptTokens) tokens, first piece after \(wait) s"
            + " · generation: \(summary.generatedTokens) tokens, \(generation) t/s · stop: \(summary.reason.rawValue)"
    }
}

/// A remote model as the agent loop's ``AgentModel``: one streamed request per reply.
struct RemoteAgentModel: AgentModel {
    let client: RemoteChatClient
    let options: RemoteChatClient.Options
    /// The grammar the answer was asked to follow: an answer cut by the server's length limit is
    /// checked against it, as the server says nothing of whether it closed its structure.
    let answerGrammar: Grammar?

    func reply(to conversation: Conversation, stop: StopFlag,
               output: @escaping @Sendable (StreamEvent) -> Void) async throws -> AgentReply {
        var options = options
        // `required` applies to the turn's first reply; after the results the model may answer.
        if conversation.messages.last?.role != .user { options.requiresToolCall = false }
        let reply = try await client.reply(to: conversation, options: options, shouldStop: { stop.isStopped }, output: output)
        let reason: StopReason
        switch reply.finishReason {
        case _ where reply.wasStopped: reason = .cancelled
        case "length"?: reason = .maxTokens
        default: reason = .endOfGeneration
        }
        let cut = reason == .maxTokens && answerGrammar.map { !GrammarMatcher(grammar: $0).matches(reply.message.content) } == true
        let summary = GenerationSummary(reason: reason, promptTokens: reply.promptTokens ?? 0, promptSeconds: reply.waitSeconds,
                                        generatedTokens: reply.completionTokens ?? 0, generationSeconds: reply.streamSeconds,
                                        endedInsideConstraint: cut)
        return AgentReply(message: reply.message, wasInterrupted: reply.wasStopped, summary: summary)
    }
}
