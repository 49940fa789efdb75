import ArgumentParser
import Foundation
import MagiChat
import MagiEngine
import MagiTokenizer

/// Sampling flags, named as llama.cpp names them.
struct SamplingOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .customLong("max-tokens"), .customLong("n-predict")], help: "Most tokens to generate (default: until the model stops or the window is full).")
    var maxTokens: Int?
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1: off).")
    var topP: Double = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than this fraction of the best (0: off).")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Penalty on recently used tokens (1: off).")
    var repeatPenalty: Float = 1.0
    @Option(name: .customLong("repeat-last-n"), help: "Tokens the penalties look back over.")
    var repeatLastN: Int = 64
    @Option(name: .customLong("presence-penalty"), help: "Subtracted once from every token already used.")
    var presencePenalty: Float = 0
    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per use from every token already used.")
    var frequencyPenalty: Float = 0
    @Option(name: .customLong("seed"), help: "Random seed; the same seed gives the same output (default: random).")
    var seed: UInt64?

    func validate() throws {
        if let n = maxTokens, n < 0 { throw ValidationError("--max-tokens must not be negative") }
        if temperature < 0 { throw ValidationError("--temp must not be negative") }
        if !(0...1).contains(topP) { throw ValidationError("--top-p must be between 0 and 1") }
        if !(0...1).contains(minP) { throw ValidationError("--min-p must be between 0 and 1") }
        if repeatPenalty <= 0 { throw ValidationError("--repeat-penalty must be positive") }
    }

    var parameters: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repeatPenalty = repeatPenalty
        p.penaltyWindow = repeatLastN
        p.presencePenalty = presencePenalty
        p.frequencyPenalty = frequencyPenalty
        p.seed = seed ?? UInt64.random(in: 0...UInt64.max)
        return p
    }
}

/// The default command: one chat turn with `-p` or piped text, else a conversation on the terminal.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model (the default command).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: [.customShort("p"), .long], help: "The prompt; piped standard input is appended to it.")
    var prompt: String?
    @Option(name: [.customShort("s"), .long], help: "System prompt (default: the model template's).")
    var system: String?
    @Flag(name: .long, help: "Plain completion: the prompt is not wrapped in the chat template.")
    var raw = false
    @Flag(name: [.customShort("v"), .long], help: "Print timings to standard error.")
    var verbose = false

    func run() async throws {
        let stdinIsTerminal = isatty(STDIN_FILENO) == 1
        var piped: String?
        if !stdinIsTerminal {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            // Trailing newlines of a pipe are an artefact of the shell, not part of the question.
            var text = String(decoding: data, as: UTF8.self)
            while text.last?.isNewline == true { text.removeLast() }
            if !text.isEmpty { piped = text }
        }
        let local = try modelOptions.load()
        let session = modelOptions.session(for: local)
        if prompt != nil || piped != nil {
            let text = [prompt, piped].compactMap { $0 }.joined(separator: prompt != nil && piped != nil ? "\n\n" : "")
            var messages: [ChatMessage] = []
            if let system { messages.append(.system(system)) }
            messages.append(.user(text))
            _ = try await turn(local, session, messages: messages, rawText: raw ? text : nil)
            return
        }
        guard stdinIsTerminal else { throw CLIError("no prompt: pass -p TEXT or pipe text on standard input") }
        try await conversation(local, session)
    }

    /// A plain line-by-line conversation on the terminal; an empty line or end of input ends it.
    private func conversation(_ local: LocalModel, _ session: InferenceSession) async throws {
        var messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        StandardError.write("magi: \((local.path as NSString).lastPathComponent) — type a message, an empty line or Ctrl-D to quit\n")
        while true {
            StandardError.write("> ")
            guard let line = readLine(), !line.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            messages.append(.user(line))
            let reply = try await turn(local, session, messages: messages, rawText: nil)
            messages.append(.assistant(reply))
        }
    }

    /// Generates one reply, streaming it to standard output, and returns its text.
    private func turn(_ local: LocalModel, _ session: InferenceSession, messages: [ChatMessage], rawText: String?) async throws -> String {
        let tokens = rawText.map(local.rawTokens) ?? local.promptTokens(for: messages)
        guard tokens.count < session.contextSize else {
            throw CLIError("the prompt has \(tokens.count) tokens, more than the context window of \(session.contextSize); raise it with -c")
        }
        let request = GenerationRequest(prompt: tokens, sampling: sampling.parameters,
                                        maxTokens: sampling.maxTokens, stopTokens: local.stopTokens)
        var decoder = StreamingDecoder(tokenizer: local.tokenizer)
        var reply = ""
        for try await event in session.generate(request) {
            switch event {
            case let .token(id):
                let piece = decoder.append(id)
                reply += piece
                writeOut(piece)
            case let .finished(summary):
                let rest = decoder.finish()
                reply += rest
                writeOut(rest + "\n")
                if verbose { report(summary) }
                if summary.reason == .contextFull { StandardError.write("magi: stopped: the context window of \(session.contextSize) tokens is full\n") }
            }
        }
        return reply
    }

    private func writeOut(_ s: String) {
        guard !s.isEmpty else { return }
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    private func report(_ s: GenerationSummary) {
        let prompt = String(format: "%.1f", s.promptTokensPerSecond), gen = String(format: "%.1f", s.generationTokensPerSecond)
        StandardError.write("prompt: \(s.promptTokens) tokens, \(prompt) t/s · generation: \(s.generatedTokens) tokens, \(gen) t/s · stop: \(s.reason.rawValue)\n")
    }
}
