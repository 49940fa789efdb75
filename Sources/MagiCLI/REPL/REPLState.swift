import Foundation
import MagiChat
import MagiEngine

/// The settings `/set` changes, starting from the command-line flags.
struct REPLSettings: Equatable {
    /// Everything but the seed, which ``samplingForNextAnswer()`` decides.
    var sampling: SamplingParameters
    /// nil: a new random seed for every answer, so `/retry` gives a different one when sampling.
    var seed: UInt64?
    /// nil: until the model stops or the context window is full.
    var maxTokens: Int?
    /// Prints a status line on standard error after each answer.
    var verbose: Bool
    /// How the model's reasoning is shown.
    var think: ThinkDisplay
    /// The context window's size, in tokens (`/set ctx` makes a new session of this size).
    var contextSize = 0
    /// What answers must look like, as `/set format` names it.
    var format = "none"

    init(sampling: SamplingParameters, seed: UInt64?, maxTokens: Int?, verbose: Bool, think: ThinkDisplay = .hidden) {
        self.sampling = sampling
        self.seed = seed
        self.maxTokens = maxTokens
        self.verbose = verbose
        self.think = think
    }

    init(options: SamplingOptions, recommended: SamplingParameters?, verbose: Bool, think: ThinkDisplay) {
        self.init(sampling: options.parameters(recommended: recommended), seed: options.seed, maxTokens: options.maxTokens,
                  verbose: verbose, think: think)
    }

    mutating func apply(_ change: SettingChange) {
        switch change {
        case .sampling(let setting, let value): setting.set(value, in: &sampling)
        case .seed(let s): seed = s
        case .maxTokens(let n): maxTokens = n
        case .contextSize(let n): contextSize = n
        case .format(let f): format = f
        case .think(let t): think = t
        case .verbose(let v): verbose = v
        }
    }

    func samplingForNextAnswer() -> SamplingParameters {
        var p = sampling
        p.seed = seed ?? UInt64.random(in: 0...UInt64.max)
        return p
    }

    /// A setting's value as `/set` takes it.
    func value(of setting: Setting) -> String {
        switch setting {
        case .sampling(let setting): return setting.formatted(in: sampling)
        case .seed: return seed.map(String.init) ?? "random"
        case .max_tokens: return maxTokens.map(String.init) ?? "none"
        case .ctx: return "\(contextSize)"
        case .format: return format
        case .think: return think.rawValue
        case .verbose: return verbose ? "on" : "off"
        }
    }

    /// `/show params`: one `name value` line per setting, by the names `/set` takes.
    var listing: String {
        Setting.allCases.map { "\($0.name) \(value(of: $0))" }.joined(separator: "\n")
    }
}

/// The conversation the REPL holds: an optional system message and the exchanges so far.
struct REPLConversation: Equatable {
    /// One question and the answer it got.
    struct Exchange: Equatable {
        var question: String
        /// Images attached to the question (remote models that accept them).
        var images: [ImageAttachment] = []
        var answer: String
        /// The reply in full when it is more than `answer`: assistant messages with their reasoning
        /// and tool calls, and tool results, in order (empty: one assistant message of `answer`).
        var steps: [ChatMessage] = []
        /// Ctrl-C cut the answer short; the part written so far stays in the conversation.
        var wasInterrupted = false

        /// The messages of the reply.
        var replies: [ChatMessage] { steps.isEmpty ? [.assistant(answer)] : steps }
    }

    /// nil: the chat template's default system message, if it has one.
    var system: String?
    private(set) var exchanges: [Exchange] = []
    /// The oldest exchanges the context budget has left out of the prompts (they stay in the
    /// session); remembered so that the next prompts start alike and reuse the KV cache.
    private(set) var leftOut = 0

    init(system: String? = nil) { self.system = system }

    /// Every message, oldest first, as the session keeps them.
    var messages: [ChatMessage] { messages(from: 0) }

    /// The messages the next prompt starts from: the system message and the exchanges not left out.
    var promptMessages: [ChatMessage] { messages(from: leftOut) }

    private func messages(from first: Int) -> [ChatMessage] {
        (system.map { [.system($0)] } ?? []) + exchanges[first...].flatMap { exchange in
            let question = ChatMessage(role: .user, parts: (exchange.question.isEmpty ? [] : [.text(exchange.question)]) + exchange.images.map(ContentPart.image))
            return [question] + exchange.replies
        }
    }

    mutating func append(_ exchange: Exchange) { exchanges.append(exchange) }

    /// Leaves `count` more of the oldest exchanges out of the prompts.
    mutating func leaveOut(_ count: Int) { leftOut = min(exchanges.count, leftOut + count) }

    /// Drops the last exchange and returns it (nil when there is none).
    @discardableResult
    mutating func removeLast() -> Exchange? {
        defer { leftOut = min(leftOut, exchanges.count) }
        return exchanges.popLast()
    }

    /// What `/compact` asks the model, and the question the summary answers in the conversation.
    static let summaryRequest = "Summarise our conversation so far in a few sentences: the facts, names, decisions and open questions. Reply with the summary only."

    /// Replaces every exchange but the last by one whose answer is `summary` (of those exchanges).
    mutating func compact(into summary: String) {
        guard let last = exchanges.last else { return }
        exchanges = [Exchange(question: Self.summaryRequest, answer: summary), last]
        leftOut = 0
    }

    /// Forgets every exchange; the system message stays.
    mutating func clear() {
        exchanges.removeAll()
        leftOut = 0
    }

    /// The conversation in `messages`: an optional system message, then turns of a user message
    /// followed by assistant messages and tool results (a last question without answer is dropped).
    init(messages: [ChatMessage]) throws(ConversationFileError) {
        var rest = messages[...]
        if rest.first?.role == .system { system = rest.removeFirst().content }
        while let question = rest.first {
            guard question.role == .user else { throw .unexpectedRole(question.role, position: messages.count - rest.count + 1) }
            rest.removeFirst()
            guard let first = rest.first else { break }
            guard first.role == .assistant else { throw .unexpectedRole(first.role, position: messages.count - rest.count + 1) }
            let replies = Array(rest.prefix { $0.role == .assistant || $0.role == .tool })
            rest.removeFirst(replies.count)
            exchanges.append(Exchange(question: question.content, images: question.images, replies: replies))
        }
    }
}

extension REPLConversation.Exchange {
    /// The exchange of `question` and `replies` (assistant messages and tool results), whose answer
    /// is the text of the last assistant message; the replies are kept whole when they say more.
    init(question: String, images: [ImageAttachment] = [], replies: [ChatMessage], wasInterrupted: Bool = false) {
        let answer = replies.last { $0.role == .assistant }?.content ?? ""
        self.init(question: question, images: images, answer: answer, steps: replies == [.assistant(answer)] ? [] : replies,
                  wasInterrupted: wasInterrupted)
    }
}

/// Why `/load` could not use a file.
enum ConversationFileError: Error, Equatable, CustomStringConvertible {
    case unexpectedRole(ChatRole, position: Int)

    var description: String {
        switch self {
        case let .unexpectedRole(role, position):
            return "message \(position) is from \(role.rawValue): the REPL takes a system message, then turns of a user message and the replies to it"
        }
    }
}

/// The saved session a REPL writes to: every turn autosaves the conversation under ``name``, and
/// beside it (`NAME.kv`) the KV cache, whatever its size, appending only the positions the file
/// lacks, so that resuming prefills nothing the cache already holds.
struct SessionSlot {
    let store: SessionStore
    var name: SessionName
    /// The model recorded in the session.
    var model: String

    /// Where the KV cache of session `name` is kept.
    func cachePath(of name: SessionName) -> String { store.directory + "/" + name.description + ".kv" }

    /// Writes `conversation` under ``name``, atomically, then the KV cache of `cache` beside it.
    func save(_ conversation: REPLConversation, cache: InferenceSession? = nil) throws(SessionError) {
        try store.save(SavedSession(conversation: Conversation(messages: conversation.messages), model: model), as: name)
        guard let cache else { return }
        let path = cachePath(of: name)
        do throws(SessionSnapshotSaveError) {
            try cache.save(toFile: path)
        } catch {
            switch error {
            case let .io(operation, code): throw .io(path: path, operation: operation, code: code)
            }
        }
    }

    /// The conversation saved as `name` (rendered again in this model's format when the REPL sends it),
    /// with the model it was saved with when that is another one. When `cache` is given and a KV
    /// cache of this model was saved beside the session, it is restored into `cache` (one that
    /// does not fit or belongs to another model is ignored, and `cacheNotice` says why: the next
    /// turn prefills instead; a damaged tail is ignored and the notice says so).
    ///
    /// - Throws: ``SessionError``, or ``ConversationFileError`` when the messages do not alternate.
    func load(_ name: SessionName, cache: InferenceSession? = nil) throws
        -> (conversation: REPLConversation, otherModel: String?, cacheNotice: String?) {
        let saved = try store.load(name)
        let conversation = try REPLConversation(messages: saved.conversation.messages)
        var notice: String?
        let path = cachePath(of: name)
        if let cache, FileManager.default.fileExists(atPath: path) {
            do {
                let restored = try cache.restore(fromFile: path)
                if restored.ignoredBytes > 0 {
                    notice = "the saved KV cache has a damaged end (\(restored.ignoredBytes) bytes ignored); \(restored.tokens) tokens restored"
                }
            } catch {
                notice = "the saved KV cache is ignored: \(error)"
            }
        }
        return (conversation, saved.model.flatMap { $0 == model ? nil : ($0 as NSString).lastPathComponent }, notice)
    }
}
