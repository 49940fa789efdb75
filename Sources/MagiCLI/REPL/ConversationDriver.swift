import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import MagiTools

/// A conversation carried on one message at a time, whoever types them: the REPL's lines, a
/// script's, or the single message of `-p` and pipes. It answers (through the backend's turn and
/// the tool loop), compacts, autosaves, and carries out slash commands (the `Commands` folder).
struct ConversationDriver {
    /// Where the messages come from, which decides how errors are located and answers end.
    enum Input {
        /// The REPL on a terminal.
        case terminal
        /// A script's lines (`--script`, `-s`): errors name the line.
        case script(ScriptLines)
        /// One message from `-p` or piped text (``answerOnce(_:images:)``).
        case singleMessage
    }

    /// The local engine or a remote server, whichever writes the replies.
    var backend: any ChatBackend
    var settings: REPLSettings
    var conversation: REPLConversation
    /// The tools offered and the permissions given so far.
    let tools: ToolSetup
    /// Where every turn autosaves the conversation (nil: a script that saves nothing unless told).
    var session: SessionSlot?
    /// The shape every answer follows (`--format`, `--grammar-file`, `--json-schema`), if any.
    var answerConstraint: AnswerConstraint?
    /// Tool calls are constrained to the offered tools and their schemas (off with `--no-constrain`).
    var constrainsToolCalls = true
    var input: Input = .singleMessage
    /// `--json`: every event one JSON object on standard output.
    let json: Bool
    let style = TerminalStyle.standardOutput
    /// Images `/image` attached to the next message.
    var pendingImages: [ImageAttachment] = []
    /// The reasoning of the last reply, for `/think show`.
    var lastReasoning = ""
    /// An error was reported.
    private(set) var failed = false
    /// A constrained answer was cut by the token budget or the window before its structure closed.
    private var cutInsideConstraint = false
    /// The exit status of a constrained answer cut short (`-p`, pipes): scripts tell it from other errors.
    static let cutShortStatus: Int32 = 3

    /// A driver on a new conversation, or on `resumed` (whose system message `system` replaces when given).
    init(backend: any ChatBackend, settings: REPLSettings, system: String?, tools: ToolSetup = .none, session: SessionSlot?,
         resumed: REPLConversation? = nil, answerConstraint: AnswerConstraint? = nil, json: Bool = false) {
        self.backend = backend
        self.answerConstraint = answerConstraint
        self.settings = settings
        self.tools = tools
        self.session = session
        self.json = json
        self.conversation = resumed ?? REPLConversation(system: system)
        if let system { conversation.system = system }
        self.settings.contextSize = backend.contextSize
    }

    /// `-p` and pipe mode: answers `question` (after the resumed conversation, if any), with
    /// `images` attached; returns the exit status.
    mutating func answerOnce(_ question: String, images: [ImageAttachment] = []) async -> Int32 {
        pendingImages = images
        await answer(question)
        return cutInsideConstraint ? Self.cutShortStatus : failed ? 1 : 0
    }

    /// Answers `question` after the conversation so far (without its last exchange when `retrying`),
    /// streaming the answer; the exchange joins the conversation even when interrupted.
    mutating func answer(_ question: String, retrying: Bool = false) async {
        var next = conversation
        if retrying { next.removeLast() }
        do {
            let interruptsBefore = InterruptSignal.count
            let model = backend.replier(sampling: settings.samplingForNextAnswer(), maxTokens: settings.maxTokens, constraint: answerConstraint,
                                        constrainsToolCalls: constrainsToolCalls, requiresCall: tools.requiresCall)
            var message = ChatMessage.user(question)
            message.parts += pendingImages.map(ContentPart.image)
            let fit = try backend.fit(Conversation(messages: next.promptMessages + [message], tools: offeredTools),
                                      maxTokens: settings.maxTokens)
            if !fit.reduction.isEmpty { notice("\(fit.reduction)") }
            next.leaveOut(fit.reduction.droppedTurns)
            let output = TurnOutput(think: settings.think, json: json, mentionsThinkShow: true)
            let reply = try await tools.loop(model: model).run(after: fit.conversation.messages,
                                                               stop: StopFlag(when: { InterruptSignal.count != interruptsBefore }),
                                                               output: { output.handle($0) })
            output.finish(summary: reply.summary, backend: backend, interrupted: reply.wasInterrupted)
            if reply.wasInterrupted && !json {
                writeFormatted(" " + style.dim("[interrupted]") + "\n\n")
            } else if case .singleMessage = input {
                // A rendered answer ends its own lines; the raw text on a pipe gets its last line ended.
                if !json && isatty(STDOUT_FILENO) == 0 { write("\n") }
            } else if !json {
                write("\n\n")
            }
            next.append(.init(question: question, images: pendingImages, replies: reply.messages, wasInterrupted: reply.wasInterrupted))
            pendingImages = []
            lastReasoning = reply.messages.compactMap { $0.role == .assistant ? $0.reasoning : nil }.joined(separator: "\n\n")
            conversation = next
            autosave()
            if let summary = reply.summary {
                if let text = backend.contextFullNotice(for: summary) { notice(text) }
                if settings.verbose { StandardError.write(backend.statusLine(for: summary) + "\n") }
                if summary.endedInsideConstraint && !reply.wasInterrupted {
                    cutInsideConstraint = true
                    let limit = summary.reason == .contextFull ? "the context window of \(backend.contextSize) tokens"
                        : settings.maxTokens.map { "the limit of \($0) tokens (-n)" } ?? "the token limit"
                    report("the answer was cut by \(limit) before its grammar or schema was complete; it is not valid")
                }
            }
        } catch {
            report("\(error)")
        }
    }

    /// `/compact`: asks the model to summarise every exchange but the last, shows the summary and
    /// puts it in their place (the session keeps the compacted conversation).
    mutating func compact() async {
        guard conversation.exchanges.count >= 2 else { report("nothing to compact: fewer than two exchanges"); return }
        var older = conversation
        older.removeLast()
        do {
            let fit = try backend.fit(Conversation(messages: older.messages + [.user(REPLConversation.summaryRequest)]), maxTokens: settings.maxTokens)
            if !fit.reduction.isEmpty { notice("\(fit.reduction)") }
            let interruptsBefore = InterruptSignal.count
            let model = backend.replier(sampling: settings.samplingForNextAnswer(), maxTokens: settings.maxTokens, constraint: nil,
                                        constrainsToolCalls: false, requiresCall: false)
            let reply = try await model.reply(to: fit.conversation, stop: StopFlag(when: { InterruptSignal.count != interruptsBefore }),
                                              output: { [style, json] event in
                                                  guard case let .text(piece) = event else { return }
                                                  if json { JSONEvents.emit(.stream(event)) } else { StandardOutput.writeFormatted(style.dim(piece)) }
                                              })
            if !json { write("\n") }
            let summary = reply.message.content
            guard !reply.wasInterrupted, !summary.isEmpty else { report("compaction stopped: the conversation is unchanged"); return }
            let count = conversation.exchanges.count - 1
            conversation.compact(into: summary.trimmingWhitespace())
            autosave()
            writeDimmed("\(count) exchanges replaced by the summary above")
        } catch {
            report("\(error)")
        }
    }

    /// The tools offered, as the chat format lists them.
    var offeredTools: [ToolDefinition] {
        tools.loop(model: backend.replier(sampling: settings.sampling, maxTokens: nil, constraint: nil, constrainsToolCalls: false,
                                          requiresCall: false)).toolDefinitions
    }

    /// A new conversation gets new interpreters: the old ones' state belonged to the old conversation.
    func endStatefulTools() {
        tools.runner.registry.tools.compactMap { $0 as? any StatefulTool }.forEach { $0.end() }
    }

    /// Saves the conversation (and the KV cache) to the current session, reporting a failure in one line.
    mutating func autosave() {
        do { try session?.save(conversation, cache: backend.cache) } catch { report("autosave: \(error)") }
    }

    // MARK: Output

    /// What a command prints: on standard output (control characters written out on a terminal, as
    /// it may show a tool's result or a model file's template), or as an `output` event with `--json`.
    func write(_ text: String) {
        if json { JSONEvents.output(text) } else { StandardOutput.write(text) }
    }

    /// A line of commentary, dimmed on a terminal.
    func writeDimmed(_ text: String) {
        if json { JSONEvents.output(text + "\n") } else { StandardOutput.writeFormatted(style.dim(text) + "\n") }
    }

    /// Text holding magi's own escape codes, its outside parts made safe by ``TerminalStyle``.
    func writeFormatted(_ text: String) {
        if json { JSONEvents.output(text) } else { StandardOutput.writeFormatted(text) }
    }

    /// Something the user should know, on standard error (and as a `notice` event with `--json`).
    func notice(_ text: String) {
        StandardError.write("magi: \(text)\n")
        if json { JSONEvents.emit(.notice(text)) }
    }

    /// An error: one line on standard error (in a script, with the line it came from), an `error`
    /// event with `--json`.
    mutating func report(_ message: String) {
        failed = true
        var location = ""
        if case .script(let script) = input { location = "\(script.name):\(script.lineNumber): " }
        StandardError.write("\(location)error: \(message)\n")
        if json { JSONEvents.error(location + message) }
    }
}
