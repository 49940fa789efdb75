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

    init(sampling: SamplingParameters, seed: UInt64?, maxTokens: Int?, verbose: Bool) {
        self.sampling = sampling
        self.seed = seed
        self.maxTokens = maxTokens
        self.verbose = verbose
    }

    init(options: SamplingOptions, recommended: SamplingParameters?, verbose: Bool) {
        self.init(sampling: options.parameters(recommended: recommended), seed: options.seed, maxTokens: options.maxTokens, verbose: verbose)
    }

    mutating func apply(_ change: SettingChange) {
        switch change {
        case .temperature(let t): sampling.temperature = t
        case .topP(let p): sampling.topP = p
        case .topK(let k): sampling.topK = k
        case .minP(let p): sampling.minP = p
        case .repeatPenalty(let r): sampling.repeatPenalty = r
        case .seed(let s): seed = s
        case .maxTokens(let n): maxTokens = n
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
        case .temperature: return "\(sampling.temperature)"
        case .top_p: return "\(sampling.topP)"
        case .top_k: return "\(sampling.topK)"
        case .min_p: return "\(sampling.minP)"
        case .repeat_penalty: return "\(sampling.repeatPenalty)"
        case .seed: return seed.map(String.init) ?? "random"
        case .max_tokens: return maxTokens.map(String.init) ?? "none"
        case .verbose: return verbose ? "on" : "off"
        }
    }

    /// `/show params`: one `name value` line per setting, by the names `/set` takes.
    var listing: String {
        Setting.allCases.map { "\($0.rawValue) \(value(of: $0))" }.joined(separator: "\n")
    }
}

/// The conversation the REPL holds: an optional system message and the exchanges so far.
struct REPLConversation: Equatable {
    /// One question and the answer it got.
    struct Exchange: Equatable {
        var question: String
        var answer: String
        /// Ctrl-C cut the answer short; the part written so far stays in the conversation.
        var wasInterrupted = false
    }

    /// nil: the chat template's default system message, if it has one.
    var system: String?
    private(set) var exchanges: [Exchange] = []

    init(system: String? = nil) { self.system = system }

    /// The messages to render, oldest first.
    var messages: [ChatMessage] {
        (system.map { [.system($0)] } ?? []) + exchanges.flatMap { [.user($0.question), .assistant($0.answer)] }
    }

    mutating func append(_ exchange: Exchange) { exchanges.append(exchange) }

    /// Drops the last exchange and returns it (nil when there is none).
    @discardableResult
    mutating func removeLast() -> Exchange? { exchanges.popLast() }

    /// Forgets every exchange; the system message stays.
    mutating func clear() { exchanges.removeAll() }

    /// The conversation in `messages`: an optional system message, then user and assistant turns in
    /// alternation (a last question without answer is dropped).
    init(messages: [ChatMessage]) throws(ConversationFileError) {
        var rest = messages[...]
        if rest.first?.role == .system { system = rest.removeFirst().content }
        while let question = rest.first {
            guard question.role == .user else { throw .unexpectedRole(question.role, position: messages.count - rest.count + 1) }
            rest.removeFirst()
            guard let answer = rest.first else { break }
            guard answer.role == .assistant else { throw .unexpectedRole(answer.role, position: messages.count - rest.count + 1) }
            rest.removeFirst()
            exchanges.append(Exchange(question: question.content, answer: answer.content))
        }
    }
}

/// Why `/load` could not use a file.
enum ConversationFileError: Error, Equatable, CustomStringConvertible {
    case unexpectedRole(ChatRole, position: Int)

    var description: String {
        switch self {
        case let .unexpectedRole(role, position):
            return "message \(position) is from \(role.rawValue): the REPL takes a system message, then user and assistant turns in alternation"
        }
    }
}
