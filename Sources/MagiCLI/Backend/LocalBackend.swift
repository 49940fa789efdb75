import Foundation
import MagiAgent
import MagiChat
import MagiEngine

/// The engine in this process as the REPL's backend: its model file, its session and KV cache.
extension ChatTurn: ChatBackend {
    var modelName: String { model.path }
    var shortName: String { (model.path as NSString).lastPathComponent }
    var contextSize: Int { session.contextSize }
    var contextUsed: Int? { session.tokens.count }
    var defaultSystemMessage: String? { model.template.defaultSystemMessage?.content }
    var cache: InferenceSession? { session }
    var imageRefusal: String? { "\(shortName) has no vision: it reads text only, so /image cannot attach" }

    func replier(sampling: SamplingParameters, maxTokens: Int?, constraint: AnswerConstraint?, constrainsToolCalls: Bool,
                 requiresCall: Bool) -> any AgentModel {
        LocalAgentModel(turn: self, sampling: sampling, maxTokens: maxTokens, answerConstraint: constraint?.grammar,
                        constrainsToolCalls: constrainsToolCalls, requiresCall: requiresCall)
    }

    func resized(to size: Int) -> BackendChange {
        let window = ContextWindow(requested: size, model: model.model,
                                   recommended: model.template.format.flatMap(RecommendedSettings.forFormat), cacheType: session.cacheType)
        let next = ChatTurn(model: model, session: InferenceSession(model: model.model, contextSize: window.size,
                                                                   threads: session.threadCount, cacheType: session.cacheType),
                            contextShiftKeep: contextShiftKeep)
        return BackendChange(backend: next, notices: window.notices,
                             confirmation: "ctx is now \(window.size); the next turn prefills the conversation again")
    }

    func switched(to path: String, contextSize: Int?, system: String?, loaded: (LocalModel) -> Void) throws -> BackendChange {
        let local = try ModelLoader.load(UserFolders().expandingTilde(path))
        loaded(local)
        let window = ContextWindow(requested: contextSize, model: local.model,
                                   recommended: local.template.format.flatMap(RecommendedSettings.forFormat), cacheType: session.cacheType)
        var next = ChatTurn(model: local, session: InferenceSession(model: local.model, contextSize: window.size, threads: session.threadCount,
                                                                   cacheType: session.cacheType))
        if contextShiftKeep != nil { next.contextShiftKeep = next.systemPromptLength(system: system) }
        return BackendChange(backend: next, window: window.size, notices: window.notices,
                             confirmation: "now on \(next.shortName) (\(local.template.format?.rawValue ?? "unrecognised") chat format, "
                                 + "context \(window.size)); the conversation goes on in its format")
    }

    func cacheReport(for conversation: Conversation) throws -> String {
        let cached = session.commonPrefixLength(with: try model.promptTokens(for: conversation))
        return "the KV cache holds \(session.tokens.count) tokens; the next turn reuses \(cached) of them"
    }

    func details(_ subject: ShowSubject) -> String {
        switch subject {
        case .params, .system:
            preconditionFailure("/show \(subject) is answered without the model file")
        case .info:
            let c = model.model.shape
            return """
                model          \(model.path)
                architecture   \(c.architecture), \(c.layerCount) layers, embedding \(c.embeddingSize), \(c.headCount) heads (\(c.kvHeadCount) for keys and values)
                weights        \(model.model.weightBytes / 1_000_000) MB
                vocabulary     \(c.vocabularySize) tokens
                context        \(session.tokens.count) of \(session.contextSize) tokens in use (trained on \(c.contextLength))
                chat format    \(model.template.format?.rawValue ?? "not recognised")
                threads        \(session.threadCount)
                """
        case .template:
            return "format: \(model.template.format?.rawValue ?? "not recognised")\n" + (model.template.source ?? "(the model file has no chat template)")
        case .license:
            let metadata = model.model.file.metadata
            let name = metadata["general.license.name"]?.stringValue, link = metadata["general.license.link"]?.stringValue
            guard let license = metadata["general.license"]?.stringValue ?? name else { return "(the model file names no license)" }
            return ([license, name == license ? nil : name, link].compactMap { $0 }).joined(separator: "\n")
        }
    }
}
