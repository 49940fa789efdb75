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
    @Option(name: .customLong("grammar-file"), help: "Constrain the answer to a GBNF grammar (llama.cpp's format).")
    var grammarFile: String?
    @Option(name: .customLong("json-schema"), help: "Constrain the answer to JSON matching this JSON Schema.")
    var jsonSchema: String?
    @Option(name: .customLong("json-schema-file"), help: "Constrain the answer to JSON matching the JSON Schema in this file.")
    var jsonSchemaFile: String?
    @Flag(name: .customLong("show-thinking"), help: "Show the model's reasoning too (on standard error when standard output is not a terminal).")
    var showThinking = false

    func validate() throws {
        if [grammarFile, jsonSchema, jsonSchemaFile].compactMap({ $0 }).count > 1 {
            throw ValidationError("pass only one of --grammar-file, --json-schema and --json-schema-file")
        }
    }

    /// The grammar the answer must follow, from `--grammar-file` or a JSON Schema, if any.
    private func constraint() throws -> Grammar? {
        func read(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
            return String(decoding: data, as: UTF8.self)
        }
        do {
            if let grammarFile { return try Grammar(gbnf: read(grammarFile)) }
            if let schema = try jsonSchema ?? jsonSchemaFile.map(read) { return try JSONSchemaGrammar(schema: schema).grammar() }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(grammarFile ?? jsonSchemaFile ?? "--json-schema"): \(error)")
        }
        return nil
    }

    func run() async throws {
        let grammar = try constraint()
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
        let turn = ChatTurn(model: local, session: modelOptions.session(for: local))
        if prompt != nil || piped != nil {
            let text = [prompt, piped].compactMap { $0 }.joined(separator: prompt != nil && piped != nil ? "\n\n" : "")
            var messages: [ChatMessage] = []
            if let system { messages.append(.system(system)) }
            messages.append(.user(text))
            let tokens = try turn.promptTokens(for: messages, rawText: raw ? text : nil)
            let thinking = ReasoningDisplay(shown: showThinking)
            let reply = try await turn.generate(prompt: tokens, sampling: sampling.parameters(recommended: turn.recommendedSampling),
                                                maxTokens: sampling.maxTokens, constraint: grammar, output: { thinking.write($0, answer: Self.writeOut) })
            Self.writeOut("\n")
            if verbose { StandardError.write(turn.statusLine(for: reply.summary) + "\n") }
            if let notice = turn.contextFullNotice(for: reply.summary) { StandardError.write("magi: \(notice)\n") }
            return
        }
        guard stdinIsTerminal else { throw CLIError("no prompt: pass -p TEXT or pipe text on standard input") }
        var repl = REPL(turn: turn, settings: REPLSettings(options: sampling, recommended: turn.recommendedSampling, verbose: verbose),
                        system: system)
        await repl.run()
    }

    private static func writeOut(_ s: String) {
        guard !s.isEmpty else { return }
        FileHandle.standardOutput.write(Data(s.utf8))
    }
}

/// Where pipe and `-p` mode put each part of a reply: the answer on standard output; reasoning
/// only with `--show-thinking`, dimmed on a terminal, else on standard error so the answer stays
/// clean; tool calls as a note on standard error (no tools are offered yet).
struct ReasoningDisplay: Sendable {
    let shown: Bool
    private let terminal = isatty(STDOUT_FILENO) == 1

    init(shown: Bool) { self.shown = shown }

    func write(_ event: StreamEvent, answer: (String) -> Void) {
        switch event {
        case let .text(piece): answer(piece)
        case let .reasoning(piece) where shown:
            if terminal { answer("\u{1B}[2m" + piece + "\u{1B}[0m") } else { StandardError.write(piece) }
        case .reasoning: break
        case let .toolCall(call): StandardError.write("magi: the model called \(call.name) (no tools are enabled)\n")
        case let .malformedToolCall(error): StandardError.write("magi: \(error)\n")
        }
    }
}
