import ArgumentParser
import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import MagiTokenizer
import MagiTools
import Synchronization

/// Dispatches `magi SUBCOMMAND …` to its command and everything else to the chat command, so the
/// chat flags (`-p`, `-n`, `-m`, …) and the subcommands' flags of the same names never collide.
@main
enum MagiMain {
    static let subcommands: [String: any AsyncParsableCommand.Type] = [
        "tokenize": Tokenize.self, "perplexity": Perplexity.self, "bench": Bench.self, "render": Render.self, "tools": ListTools.self, "tool": CallTool.self, "config": ConfigCommand.self, "serve": Serve.self,
    ]

    static func main() async {
        // A reader that goes away (`magi … | head`) ends magi through StandardOutput, quietly.
        signal(SIGPIPE, SIG_IGN)
        EndingSignals.install()
        // Image folders of a `python` interpreter whose magi was killed.
        PythonSandboxTool.removeAbandonedFolders()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let name = arguments.first, let command = subcommands[name] {
            await run(command, Array(arguments.dropFirst()))
        } else if arguments.first == "help", let name = arguments.dropFirst().first, let command = subcommands[name] {
            await run(command, ["--help"])
        } else {
            await run(Magi.self, arguments)
        }
    }

    /// Parses and runs `command` as ArgumentParser's `main` does, except that its messages go
    /// through ``StandardError`` (an error may echo a server's answer or a file's text) and that
    /// magi ends by `exit`, which stops the programs it started.
    static func run(_ command: any AsyncParsableCommand.Type, _ arguments: [String]) async -> Never {
        do {
            var parsed = try command.parseAsRoot(arguments)
            if var asynchronous = parsed as? any AsyncParsableCommand { try await asynchronous.run() } else { try parsed.run() }
            exit(0)
        } catch {
            let message = command.fullMessage(for: error)
            let status = command.exitCode(for: error)
            if !message.isEmpty {
                if status == .success { StandardOutput.write(message + "\n") } else { StandardError.write(message + "\n") }
            }
            exit(status.rawValue)
        }
    }

    /// What must be undone before magi ends early because its reader left: set by the chat
    /// command once its tools exist.
    static let cleanUpBeforeEarlyEnd = Mutex<@Sendable () -> Void>({})

    /// Ends magi quietly (status 0) when standard output's reader has gone (``StandardOutput``),
    /// after ``cleanUpBeforeEarlyEnd``.
    static func endForGoneReader() -> Never {
        cleanUpBeforeEarlyEnd.withLock { $0 }()
        _exit(0)
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
              magi tool         run a tool on JSON arguments, without a model (one call per line of stdin)
              magi config       the effective settings and where each comes from (config.toml, MAGI_*, flags)
              magi serve        an OpenAI-compatible HTTP server on the model (streaming, tools, response_format)
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup(title: "Tools") var toolOptions: ToolOptions
    @OptionGroup(title: "Display") var display: DisplayOptions

    @Option(name: [.customShort("p"), .long], help: "The prompt; piped standard input is appended to it.")
    var prompt: String?
    @Option(name: .long, help: "System prompt (default: $MAGI_SYSTEM, else config.toml's system, else the model template's).")
    var system: String?
    @Flag(name: .long, help: "Plain completion: the prompt is not wrapped in the chat template.")
    var raw = false
    @Flag(name: [.customShort("v"), .long], help: "Print timings to standard error.")
    var verbose = false
    @Option(name: .customLong("format"), help: "Constrain the answer: json (any JSON value, as Ollama's format), a JSON Schema file, or a .gbnf grammar file.")
    var format: String?
    @Option(name: .customLong("grammar-file"), help: "Constrain the answer to a GBNF grammar (llama.cpp's format).")
    var grammarFile: String?
    @Option(name: .customLong("json-schema"), help: ArgumentHelp("Constrain the answer to JSON matching this JSON Schema: JSON text (starting with '{', or true/false), else a file's path.", valueName: "JSON|FILE"))
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
    @Option(name: .customLong("script"), help: ArgumentHelp("Run REPL input from FILE (- for standard input): messages, slash commands, \"\"\" blocks, # comments.", valueName: "FILE"))
    var scriptPath: String?
    @Flag(name: .customShort("s"), help: "Run REPL input from standard input, as --script - does.")
    var scriptFromStdin = false
    @Flag(name: .customLong("keep-going"), help: "In a script, go on after an error (the exit status is still 1).")
    var keepGoing = false
    @Flag(name: .customLong("no-constrain"), help: "Let the model write tool calls freely instead of constraining them to the offered tools and their argument schemas.")
    var noConstrain = false
    @Flag(name: .long, help: "Write one JSON object per line for each event (answer, reasoning, tool_call, tool_result, usage, error, end).")
    var json = false
    @Option(name: .customLong("remote"), help: ArgumentHelp("Chat with a model on an OpenAI-compatible server (vLLM, llama.cpp, Ollama, Mistral's API, magi serve): its base URL, or a [remotes.NAME] of config.toml. -m names the model (default: the server's first).", valueName: "URL|NAME"))
    var remote: String?
    @Option(name: .customLong("api-key-env"), help: ArgumentHelp("The environment variable holding the remote's API key (default: the profile's, else MISTRAL_API_KEY for api.mistral.ai, else MAGI_API_KEY).", valueName: "VAR"))
    var apiKeyEnvironment: String?
    @Option(name: [.customShort("i"), .customLong("image")], help: ArgumentHelp("Attach an image to the prompt (remote models that accept images).", valueName: "PATH"))
    var images: [String] = []

    func validate() throws {
        try MagiConfig.validate()
        try toolOptions.validateSettings()
        if resume != nil && continueLatest { throw ValidationError("pass only one of --resume and --continue") }
        if (scriptPath != nil || scriptFromStdin) && prompt != nil { throw ValidationError("pass either a script (--script, -s) or -p") }
        if keepGoing && scriptPath == nil && !scriptFromStdin { throw ValidationError("--keep-going applies to scripts (--script, -s)") }
        if remote != nil && raw { throw ValidationError("--raw completes on the local engine; it does not go with --remote") }
        if remote != nil && contextShift { throw ValidationError("--context-shift applies to the local engine's KV cache, not to --remote") }
        if [format, grammarFile, jsonSchema, jsonSchemaFile].compactMap({ $0 }).count > 1 {
            throw ValidationError("pass only one of --format, --grammar-file, --json-schema and --json-schema-file")
        }
    }

    /// The shape the answer must have, from `--format`, `--grammar-file` or a JSON Schema, if any.
    private func constraint() throws -> AnswerConstraint? {
        if let format { return try AnswerFormat.constraint(for: format) }
        if let grammarFile { return try AnswerFormat.constraint(gbnfFile: grammarFile) }
        if let jsonSchemaFile { return try AnswerFormat.constraint(schemaFile: jsonSchemaFile) }
        return try jsonSchema.flatMap { try AnswerFormat.constraint(schemaTextOrFile: $0) }
    }

    func run() async throws {
        let grammar = try constraint()
        ResizeSignal.install()
        display.adopt()
        let stdinIsTerminal = isatty(STDIN_FILENO) == 1
        let script = try scriptPath.map(ScriptLines.init(path:)) ?? (scriptFromStdin ? ScriptLines(path: "-") : nil)
        var piped: String?
        if !stdinIsTerminal && script == nil {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            // Trailing newlines of a pipe are an artefact of the shell, not part of the question.
            var text = String(decoding: data, as: UTF8.self)
            while text.last?.isNewline == true { text.removeLast() }
            if !text.isEmpty { piped = text }
        }
        let question = prompt != nil || piped != nil ? [prompt, piped].compactMap { $0 }.joined(separator: prompt != nil && piped != nil ? "\n\n" : "") : nil
        guard script != nil || question != nil || stdinIsTerminal else { throw CLIError("no prompt: pass -p TEXT, pipe text on standard input, or run a script with --script FILE") }
        guard images.isEmpty || question != nil else { throw CLIError("-i attaches images to -p or piped text; in the REPL, /image PATH attaches them") }
        let attachments = try images.map { path in
            do { return try ImageAttachment(path: path) } catch { throw CLIError("\(error)") }
        }
        let think: ThinkDisplay = showThinking ? .shown : try MagiConfig.current.think.value
        if let remote {
            let backend = try await RemoteOptions(remote: remote, model: modelOptions.model, apiKeyEnvironment: apiKeyEnvironment,
                                                  context: modelOptions.context?.value).backend()
            return try await chat(with: backend, question: question, images: attachments, script: script, grammar: grammar, think: think,
                                  countTokens: { RemoteBackend.estimatedTokens($0) })
        }
        guard attachments.isEmpty else { throw CLIError("-i attaches images for models that accept them; the local engine reads text only (use --remote)") }
        let local = try modelOptions.load()
        if script == nil && question == nil { LoadProgress.readIn(local) }
        var turn = ChatTurn(model: local, session: try modelOptions.session(for: local))
        if contextShift { turn.contextShiftKeep = raw ? 0 : turn.systemPromptLength(system: systemMessage) }
        if raw {
            guard let question else { throw CLIError("--raw completes one prompt: pass -p TEXT or pipe text") }
            let output = TurnOutput(think: think, json: json)
            let tokens = try turn.promptTokens(for: [], rawText: question)
            let reply = try await turn.generate(prompt: tokens, sampling: sampling.parameters(recommended: nil), maxTokens: sampling.maxTokens,
                                                constraint: grammar.map { .whole($0.grammar) }, output: { output.handle(.stream($0)) })
            output.finish(summary: reply.summary, backend: turn, interrupted: false)
            if !json && isatty(STDOUT_FILENO) == 0 { StandardOutput.write("\n") }
            if verbose { StandardError.write(turn.statusLine(for: reply.summary) + "\n") }
            if reply.summary.endedInsideConstraint {
                StandardError.write("error: the completion was cut by the token limit before its grammar or schema was complete; it is not valid\n")
                throw ExitCode(ConversationDriver.cutShortStatus)
            }
            return
        }
        let countTokens: @Sendable (String) -> Int = { [tokenizer = local.tokenizer] in tokenizer.encode($0, addSpecial: false, parseSpecial: false).count }
        try await chat(with: turn, question: question, images: [], script: script, grammar: grammar, think: think, countTokens: countTokens)
    }

    /// The conversation on `backend`: one answer to `question`, a script, or the REPL.
    private func chat(with backend: any ChatBackend, question: String?, images: [ImageAttachment], script: ScriptLines?,
                      grammar: AnswerConstraint?, think: ThinkDisplay, countTokens: @escaping @Sendable (String) -> Int) async throws {
        let registry = try await toolOptions.registry()
        // Interpreters end, sandbox folders go and MCP servers stop however magi ends: here, or when its reader goes.
        let cleanUp: @Sendable () -> Void = {
            registry.tools.compactMap { $0 as? any StatefulTool }.forEach { $0.end() }
            var clients: [ObjectIdentifier: MCPClient] = [:]
            for case let tool as MCPTool in registry.tools { clients[ObjectIdentifier(tool.client)] = tool.client }
            clients.values.forEach { $0.shutDown() }
            ChildProcessGroups.shared.killAll()
        }
        MagiMain.cleanUpBeforeEarlyEnd.withLock { $0 = cleanUp }
        defer { cleanUp() }
        let interactive = question == nil && script == nil
        // Only the REPL on a terminal can ask before a call runs; elsewhere calls need --yes or --allow-tool.
        let tools = toolOptions.setup(registry: registry, countTokens: countTokens,
                                      ask: interactive && !toolOptions.allowAll ? TerminalPermissionPrompt.ask : nil)
        let (session, resumed) = try openSession(model: backend.modelName, cache: backend.cache, autosaving: interactive)
        let settings = REPLSettings(options: sampling, recommended: backend.recommendedSampling, verbose: verbose, think: think)
        var driver = ConversationDriver(backend: backend, settings: settings, system: systemMessage, tools: tools, session: session,
                                        resumed: resumed, answerConstraint: grammar, json: json)
        driver.constrainsToolCalls = !noConstrain
        if let named = format ?? grammarFile ?? jsonSchemaFile ?? jsonSchema.map({ _ in "--json-schema" }) { driver.settings.format = named }
        let status: Int32
        if let question {
            status = await driver.answerOnce(question, images: images)
        } else {
            var repl = REPL(driver: driver, mode: script.map { .script($0, keepGoing: keepGoing) } ?? .interactive)
            status = await repl.run()
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// The system message: `--system`, else MAGI_SYSTEM or config.toml's; nil: the template's.
    private var systemMessage: String? { MagiConfig.currentOrEmpty.system.overridden(by: system, named: "--system")?.value }


    /// The session a conversation goes on with: the one `--resume` names or `--continue` finds,
    /// loaded (with its KV cache into `cache`, when one was saved), else for the interactive REPL a
    /// new one named after the time (scripts and one-shot prompts save nothing unless told).
    private func openSession(model: String, cache: InferenceSession?, autosaving: Bool) throws -> (SessionSlot?, REPLConversation?) {
        let store = SessionStore.standard()
        do {
            guard let name = try resume.map({ try SessionName($0) }) ?? (continueLatest ? store.mostRecent() : nil) else {
                return (autosaving ? SessionSlot(store: store, name: store.unusedName(), model: model) : nil, nil)
            }
            let slot = SessionSlot(store: store, name: name, model: model)
            let loaded = try slot.load(name, cache: cache)
            if let notice = loaded.cacheNotice { StandardError.write("magi: \(notice)\n") }
            let note = loaded.otherModel.map { ", saved with \($0) and rendered in this model's format" } ?? ""
            let cached = cache.map { $0.tokens.isEmpty ? "" : ", \($0.tokens.count) tokens cached" } ?? ""
            StandardError.write("magi: resuming session \(name) (\(loaded.conversation.exchanges.count) exchanges\(note)\(cached))\n")
            return (slot, loaded.conversation)
        } catch {
            throw CLIError("\(error)")
        }
    }
}
