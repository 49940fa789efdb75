import ArgumentParser
import Foundation
import MagiChat
import MagiEngine
import MagiTokenizer
import MagiTools

/// Dispatches `magi SUBCOMMAND …` to its command and everything else to the chat command, so the
/// chat flags (`-p`, `-n`, `-m`, …) and the subcommands' flags of the same names never collide.
@main
enum MagiMain {
    static let subcommands: [String: any AsyncParsableCommand.Type] = [
        "tokenize": Tokenize.self, "perplexity": Perplexity.self, "bench": Bench.self, "render": Render.self, "tools": ListTools.self,
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
              magi render       draw a Markdown file (with TeX math) for the terminal
              magi tools        list the tools --tools can offer (built-in, plugins, MCP servers)
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup(title: "Tools") var toolOptions: ToolOptions
    @OptionGroup(title: "Display") var display: DisplayOptions

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
    @Option(name: .customLong("resume"), help: "Go on with the saved session NAME in the REPL (/sessions lists them).")
    var resume: String?
    @Flag(name: .customLong("continue"), help: "Go on with the most recently saved session in the REPL.")
    var continueLatest = false
    @Flag(name: .customLong("context-shift"), help: "When a reply fills the context window, forget the older half after the system prompt and go on instead of stopping.")
    var contextShift = false
    @Flag(name: .customLong("show-thinking"), help: "Show the model's reasoning too (on standard error when standard output is not a terminal).")
    var showThinking = false

    func validate() throws {
        if resume != nil && continueLatest { throw ValidationError("pass only one of --resume and --continue") }
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
        ResizeSignal.install()
        display.adopt()
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
        var turn = ChatTurn(model: local, session: modelOptions.session(for: local))
        if contextShift { turn.contextShiftKeep = raw ? 0 : systemPromptLength(local) }
        let registry = try await toolOptions.registry()
        defer { registry.tools.compactMap { $0 as? PythonSandboxTool }.forEach { $0.removeWorkFolder() } }
        let countTokens: @Sendable (String) -> Int = { [tokenizer = local.tokenizer] in tokenizer.encode($0, addSpecial: false, parseSpecial: false).count }
        if prompt != nil || piped != nil {
            if resume != nil || continueLatest { throw CLIError("--resume and --continue go on with a session in the REPL; drop -p and piped input") }
            let text = [prompt, piped].compactMap { $0 }.joined(separator: prompt != nil && piped != nil ? "\n\n" : "")
            var messages: [ChatMessage] = []
            if let system { messages.append(.system(system)) }
            messages.append(.user(text))
            let thinking = ReasoningDisplay(shown: showThinking)
            let parameters = sampling.parameters(recommended: turn.recommendedSampling)
            let summary: GenerationSummary?
            if raw {
                let tokens = try turn.promptTokens(for: messages, rawText: text)
                summary = try await turn.generate(prompt: tokens, sampling: parameters, maxTokens: sampling.maxTokens,
                                                  constraint: grammar.map { .whole($0) },
                                                  output: { thinking.write($0) }).summary
            } else {
                // Nobody to ask in -p and pipe mode: calls need --yes or --allow-tool.
                let tools = toolOptions.setup(registry: registry, countTokens: countTokens, ask: nil)
                let model = LocalAgentModel(turn: turn, sampling: parameters, maxTokens: sampling.maxTokens,
                                            answerConstraint: grammar, constrainsToolCalls: true,
                                            requiresCall: tools.requiresCall)
                let style = TerminalStyle(isEnabled: false)
                summary = try await tools.loop(model: model).run(after: messages, shouldStop: { false }, output: { event in
                    if case .stream(let piece) = event { thinking.write(piece) } else { thinking.answer.finish(); ToolTranscript.write(event, style: style) }
                }).summary
            }
            thinking.answer.finish()
            // A rendered answer ends its own lines; the raw text on a pipe gets its last line ended.
            if isatty(STDOUT_FILENO) == 0 { Self.writeOut("\n") }
            if let summary {
                if verbose { StandardError.write(turn.statusLine(for: summary) + "\n") }
                if let notice = turn.contextFullNotice(for: summary) { StandardError.write("magi: \(notice)\n") }
            }
            return
        }
        guard stdinIsTerminal else { throw CLIError("no prompt: pass -p TEXT or pipe text on standard input") }
        let tools = toolOptions.setup(registry: registry, countTokens: countTokens,
                                      ask: toolOptions.allowAll ? nil : TerminalPermissionPrompt.ask)
        let (session, resumed) = try openSession(model: local.path)
        var repl = REPL(turn: turn, settings: REPLSettings(options: sampling, recommended: turn.recommendedSampling, verbose: verbose),
                        system: system, tools: tools, session: session, resumed: resumed, answerConstraint: grammar)
        await repl.run()
    }

    /// Tokens of the system prompt (`--system`, else the template's) at the start of every chat prompt.
    private func systemPromptLength(_ local: LocalModel) -> Int {
        let messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        let rendered = try? local.template.render(messages, addGenerationPrompt: false)
        return (try? rendered?.tokens(using: local.tokenizer, sequenceStart: local.sequenceStart).count) ?? 0
    }

    /// The session the REPL autosaves to: the one `--resume` names or `--continue` finds, loaded,
    /// else a new one named after the time.
    private func openSession(model: String) throws -> (SessionSlot, REPLConversation?) {
        let store = SessionStore.standard()
        do {
            guard let name = try resume.map({ try SessionName($0) }) ?? (continueLatest ? store.mostRecent() : nil) else {
                return (SessionSlot(store: store, name: store.unusedName(), model: model), nil)
            }
            let slot = SessionSlot(store: store, name: name, model: model)
            let loaded = try slot.load(name)
            let note = loaded.otherModel.map { ", saved with \($0) and rendered in this model's format" } ?? ""
            StandardError.write("magi: resuming session \(name) (\(loaded.conversation.exchanges.count) exchanges\(note))\n")
            return (slot, loaded.conversation)
        } catch {
            throw CLIError("\(error)")
        }
    }

    private static func writeOut(_ s: String) {
        guard !s.isEmpty else { return }
        FileHandle.standardOutput.write(Data(s.utf8))
    }
}

/// Where pipe and `-p` mode put each part of a reply: the answer on standard output; reasoning
/// only with `--show-thinking`, dimmed on a terminal, else on standard error so the answer stays
/// clean; tool calls are left to the agent loop's transcript.
struct ReasoningDisplay: Sendable {
    let shown: Bool
    private let terminal = isatty(STDOUT_FILENO) == 1
    /// The answer, rendered as Markdown on a terminal.
    let answer = AnswerDisplay()

    init(shown: Bool) { self.shown = shown }

    func write(_ event: StreamEvent) {
        switch event {
        case let .text(piece): answer.text(piece)
        case let .reasoning(piece) where shown:
            if terminal {
                answer.finish()
                FileHandle.standardOutput.write(Data(TerminalStyle.standardOutput.dim(piece).utf8))
            } else {
                StandardError.write(piece)
            }
        case .reasoning: break
        case .toolCall: break
        case let .malformedToolCall(error): StandardError.write("magi: \(error)\n")
        }
    }
}
