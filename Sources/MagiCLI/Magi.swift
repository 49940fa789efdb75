import ArgumentParser
import Foundation
import MagiChat
import MagiEngine
import MagiTokenizer

/// Dispatches `magi SUBCOMMAND …` to its command and everything else to the chat command, so the
/// chat flags (`-p`, `-n`, `-m`, …) and the subcommands' flags of the same names never collide.
@main
enum MagiMain {
    static let subcommands: [String: any AsyncParsableCommand.Type] = [
        "tokenize": Tokenize.self, "perplexity": Perplexity.self, "bench": Bench.self,
    ]

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let name = arguments.first, let command = subcommands[name] {
            await command.main(Array(arguments.dropFirst()))
        } else if arguments.first == "help", let name = arguments.dropFirst().first, let command = subcommands[name] {
            await command.main(["--help"])
        } else {
            await Magi.main(arguments)
        }
    }
}

/// `magi`: one chat turn with `-p` or piped text, else a conversation on the terminal.
struct Magi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi",
        abstract: "A terminal for local reasoning models: chat, scripts and tools on GGUF models.",
        discussion: """
            Other commands (each has --help):
              magi tokenize     print the token ids of a text
              magi perplexity   perplexity over a text, KL divergence against a base file
              magi bench        prompt processing and generation speed
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: [.customShort("p"), .long], help: "The prompt; piped standard input is appended to it.")
    var prompt: String?
    @Option(name: .long, help: "System prompt (default: the model template's).")
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
        let request = GenerationRequest(prompt: tokens, sampling: sampling.parameters(recommended: nil),
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
