import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import MagiTools

/// A conversation driven line by line: interactively on a terminal, or from a script.
///
/// Interactive: Ctrl-C during an answer stops it and keeps what was written; at the prompt it
/// abandons the line. Ctrl-D on an empty line or `/exit` leaves.
///
/// Script (`--script FILE`, `-s`): the same input without a terminal, `#` lines are comments,
/// and the first error stops the run with exit status 1 unless `--keep-going`.
struct REPL {
    /// Where the lines come from and what an error does.
    enum Mode {
        case interactive
        case script(ScriptLines, keepGoing: Bool)
        /// `-p` and piped text: one message, answered by ``answerOnce(_:)``.
        case oneShot
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
    let mode: Mode
    /// `--json`: every event one JSON object on standard output.
    let json: Bool
    private let style = TerminalStyle.standardOutput
    /// Images `/image` attached to the next message.
    private var pendingImages: [ImageAttachment] = []
    /// The reasoning of the last reply, for `/think show`.
    private var lastReasoning = ""
    private var failed = false
    /// A constrained answer was cut by the token budget or the window before its structure closed.
    private var cutInsideConstraint = false
    /// The exit status of a constrained answer cut short (`-p`, pipes): scripts tell it from other errors.
    static let cutShortStatus: Int32 = 3

    /// A REPL on a new conversation, or on `resumed` (whose system message `system` replaces when given).
    init(backend: any ChatBackend, settings: REPLSettings, system: String?, tools: ToolSetup = .none, session: SessionSlot?,
         resumed: REPLConversation? = nil, answerConstraint: AnswerConstraint? = nil, mode: Mode = .interactive, json: Bool = false) {
        self.backend = backend
        self.answerConstraint = answerConstraint
        self.settings = settings
        self.tools = tools
        self.session = session
        self.mode = mode
        self.json = json
        self.conversation = resumed ?? REPLConversation(system: system)
        if let system { conversation.system = system }
        self.settings.contextSize = backend.contextSize
    }

    /// `${XDG_DATA_HOME:-~/.local/share}/magi/history` (a relative XDG_DATA_HOME is ignored, as the spec says).
    static var historyPath: String { UserFolders().dataHome + "/magi/history" }

    /// Runs until the input ends, `/exit`, or (in a script) the first error; returns the exit status.
    mutating func run() async -> Int32 {
        let lines: any LineSource
        var input = REPLInput()
        switch mode {
        case .interactive:
            InterruptSignal.install()
            TerminalRestorer.install()
            lines = LineEditor(historyPath: Self.historyPath, completion: SlashCommand.completion(before:word:))
            StandardError.write("magi: \(backend.shortName) — /help for commands, \"\"\" for several lines, Ctrl-D to quit\n")
        case .script(let script, _):
            lines = script
            input.skipsComments = true
        case .oneShot:
            preconditionFailure("a one-shot REPL answers through answerOnce")
        }
        while true {
            if case .script(_, keepGoing: false) = mode, failed { return 1 }
            guard let event = input.consume(lines.readLine(prompt: input.prompt)) else { continue }
            switch event {
            case .end:
                if case .interactive = mode {
                    write("\n")
                    return 0
                }
                if input.wasInsideMessage { report("the script ended inside a message (a \"\"\" block or a line ending in \\)") }
                return failed ? 1 : 0
            case .interrupt:
                continue
            case .message(let text):
                await answer(text)
            case .invalidCommand(let error):
                report("\(error)")
            case .command(let command):
                guard await execute(command) else {
                    if case .interactive = mode { return 0 }
                    return failed ? 1 : 0
                }
            }
        }
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
    private mutating func answer(_ question: String, retrying: Bool = false) async {
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
            } else if case .oneShot = mode {
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

    /// Carries out `command`; false when it is time to leave.
    private mutating func execute(_ command: SlashCommand) async -> Bool {
        switch command {
        case .help:
            write(Self.help)
        case .system(nil):
            if let system = conversation.system {
                write(system + "\n")
            } else {
                writeDimmed(backend.defaultSystemMessage.map { "(the template's) " + $0 } ?? "(none)")
            }
        case .system(let text?):
            conversation.system = text
            writeDimmed("system message set")
        case .set(.contextSize(let size)):
            let change = backend.resized(to: size)
            for text in change.notices { notice(text) }
            backend = change.backend
            settings.apply(.contextSize(backend.contextSize))
            writeDimmed(change.confirmation)
        case .set(.format(let spec)):
            do {
                answerConstraint = try AnswerFormat.constraint(for: spec)
                settings.apply(.format(spec))
                writeDimmed("format is now \(spec)")
            } catch {
                report("\(error)")
            }
        case .set(let change):
            settings.apply(change)
            writeDimmed("\(change.setting.name) is now \(settings.value(of: change.setting))")
        case .show(let subject):
            write(show(subject) + "\n")
        case .clear:
            endStatefulTools()
            conversation.clear()
            lastReasoning = ""
            if let store = session?.store {
                session?.name = store.unusedName()
                writeDimmed("conversation cleared; later turns autosave to the new session \(session!.name)")
            } else {
                writeDimmed("conversation cleared")
            }
        case .retry:
            guard let last = conversation.exchanges.last else { report("nothing to retry"); break }
            await answer(last.question, retrying: true)
        case .undo:
            guard conversation.removeLast() != nil else { report("nothing to undo"); break }
            writeDimmed("last exchange dropped")
        case .save(let name):
            do {
                let sessionName = try SessionName(name)
                var target = session ?? SessionSlot(store: .standard(), name: sessionName, model: backend.modelName)
                target.name = sessionName
                try target.save(conversation, cache: backend.cache)
                session = target
                writeDimmed("saved \(conversation.exchanges.count) exchanges as \(name); later turns autosave to it")
            } catch {
                report("\(error)")
            }
        case .load(let name):
            do {
                let sessionName = try SessionName(name)
                var slot = session ?? SessionSlot(store: .standard(), name: sessionName, model: backend.modelName)
                let loaded = try slot.load(sessionName, cache: backend.cache)
                if let notice = loaded.cacheNotice { report(notice) }
                endStatefulTools()
                conversation = loaded.conversation
                slot.name = sessionName
                session = slot
                let note = loaded.otherModel.map { " (saved with \($0), rendered in this model's format)" } ?? ""
                writeDimmed("loaded \(conversation.exchanges.count) exchanges from \(name)\(note)")
            } catch let error as ConversationFileError {
                report("\(name): \(error)")
            } catch {
                report("\(error)")
            }
        case .sessions:
            do {
                let store = session?.store ?? .standard()
                let listings = try store.list()
                if listings.isEmpty { writeDimmed("no saved sessions in \(store.directory)") } else { write(Self.table(of: listings, current: session?.name)) }
            } catch {
                report("\(error)")
            }
        case .compact:
            await compact()
        case .context:
            do {
                // Only what the window holds counts: the prompt as the next turn would fit it.
                let fit = try backend.fit(Conversation(messages: conversation.promptMessages, tools: offeredTools), maxTokens: settings.maxTokens)
                let messages = fit.conversation
                let usage = try ContextUsage(of: messages, contextSize: backend.contextSize, measure: backend.measure)
                let outside = conversation.leftOut + fit.reduction.droppedTurns
                let leftOut = outside > 0 ? "; \(outside) oldest exchanges left out (kept in the session)" : ""
                let cache = try backend.cacheReport(for: messages)
                write(usage.table + "\n")
                writeDimmed(cache + leftOut)
            } catch {
                report("\(error)")
            }
        case .showThinking:
            if lastReasoning.isEmpty { report("the last reply has no reasoning") } else { writeDimmed(lastReasoning) }
        case .tools:
            let definitions = offeredTools
            if definitions.isEmpty { writeDimmed("no tools offered: start magi with --tools NAME,… or --tools all (magi tools lists them)"); break }
            write(tools.runner.registry.tools.map { tool in
                let access = tool.access.isEmpty ? "" : " [\(tool.access.summary)]"
                return "\(tool.name)\(access) — \(tools.permissions.policy(for: tool).rawValue)"
            }.joined(separator: "\n") + "\n")
        case let .tool(name, arguments):
            guard let tool = tools.runner.registry[name] else {
                report("no tool named \(name) is offered" + (tools.runner.registry.isEmpty ? "; start magi with --tools \(name)"
                                                                : "; the tools are: " + tools.runner.registry.names.joined(separator: ", ")))
                break
            }
            // Typed by the user (or the script's author), the call needs no further permission.
            let call = ToolCall(id: "manual", name: tool.name, arguments: arguments)
            if json { JSONEvents.emit(.toolCall(call)) }
            let interruptsBefore = InterruptSignal.count
            let outcome = await tools.runner.run(name, arguments: arguments, shouldStop: { InterruptSignal.count != interruptsBefore })
            if json { JSONEvents.emit(.toolResult(call, outcome)) }
            switch outcome {
            case .success(let text): if !json { write(text.hasSuffix("\n") ? text : text + "\n") }
            case .failure(let error): report("\(name): \(error)")
            }
        case .restartTool(let name):
            guard let tool = tools.runner.registry[name] else { report("no tool named \(name) is offered"); break }
            guard let stateful = tool as? any StatefulTool else { report("\(name) keeps no state between calls: there is nothing to restart"); break }
            write(style.dim(stateful.restart()) + "\n")
        case .model(nil):
            write(backend.modelName + "\n")
        case .model(let name?):
            switchModel(to: name)
        case .image(let path):
            guard FileManager.default.fileExists(atPath: UserFolders().expandingTilde(path)) else { report("\(path): no such file"); break }
            if let refusal = backend.imageRefusal {
                report("\(refusal) \(path)")
                break
            }
            do {
                pendingImages.append(try ImageAttachment(path: path))
                writeDimmed("\(path) goes with the next message (\(pendingImages.count) attached)")
            } catch {
                report("\(error)")
            }
        case .exit:
            return false
        }
        return true
    }

    /// A new conversation gets new interpreters: the old ones' state belonged to the old conversation.
    private func endStatefulTools() {
        tools.runner.registry.tools.compactMap { $0 as? any StatefulTool }.forEach { $0.end() }
    }

    /// `/model NAME`: another model file or alias (local), or another model on the server (remote);
    /// the conversation goes on in its chat format.
    private mutating func switchModel(to name: String) {
        do {
            let change = try backend.switched(to: name, contextSize: settings.contextSize, system: conversation.system) { [mode] local in
                if case .interactive = mode { LoadProgress.readIn(local) }
            }
            for text in change.notices { notice(text) }
            backend = change.backend
            if let window = change.window { settings.contextSize = window }
            session?.model = backend.modelName
            writeDimmed(change.confirmation)
        } catch {
            report("\(error)")
        }
    }

    private func show(_ subject: ShowSubject) -> String {
        switch subject {
        case .params: return settings.listing
        case .system: return conversation.system ?? backend.defaultSystemMessage.map { "(the template's) " + $0 } ?? "(none)"
        case .info, .template, .license:
            return backend.details(subject)
        }
    }

    static let help: String = {
        let width = SlashCommand.catalog.map { $0.name.count + $0.arguments.count + 2 }.max() ?? 0
        let commands = SlashCommand.catalog.map { command in
            let synopsis = "/\(command.name)" + (command.arguments.isEmpty ? "" : " " + command.arguments)
            return "  " + synopsis.padding(toLength: width + 1, withPad: " ", startingAt: 0) + " " + command.summary
        }
        return (commands + [
            "",
            "Type \"\"\" to start and end a message of several lines, or end a line with \\ to go on.",
            "Ctrl-C stops an answer; Ctrl-R searches the history; Tab completes commands, settings and paths.",
        ]).joined(separator: "\n") + "\n"
    }()

    /// `/sessions`: one line per session, newest first, the current one marked with `*`.
    static func table(of listings: [SessionListing], current: SessionName?) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let width = listings.map(\.name.description.count).max() ?? 0
        return listings.map { listing in
            let size = listing.byteCount < 10_000 ? "\(listing.byteCount) B" : "\(listing.byteCount / 1000) kB"
            return (listing.name == current ? "* " : "  ") + listing.name.description.padding(toLength: width, withPad: " ", startingAt: 0)
                + "  " + formatter.string(from: listing.modified) + "  " + size
        }.joined(separator: "\n") + "\n"
    }

    /// `/compact`: asks the model to summarise every exchange but the last, shows the summary and
    /// puts it in their place (the session keeps the compacted conversation).
    private mutating func compact() async {
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
    private var offeredTools: [ToolDefinition] {
        tools.loop(model: backend.replier(sampling: settings.sampling, maxTokens: nil, constraint: nil, constrainsToolCalls: false,
                                          requiresCall: false)).toolDefinitions
    }

    /// Saves the conversation (and the KV cache, when small) to the current session, reporting a
    /// failure in one line.
    private mutating func autosave() {
        do { try session?.save(conversation, cache: backend.cache) } catch { report("autosave: \(error)") }
    }

    /// What a command prints: on standard output (control characters written out on a terminal, as
    /// it may show a tool's result or a model file's template), or as an `output` event with `--json`.
    private func write(_ text: String) {
        if json { JSONEvents.output(text) } else { StandardOutput.write(text) }
    }

    /// A line of commentary, dimmed on a terminal.
    private func writeDimmed(_ text: String) {
        if json { JSONEvents.output(text + "\n") } else { StandardOutput.writeFormatted(style.dim(text) + "\n") }
    }

    /// Text holding magi's own escape codes, its outside parts made safe by ``TerminalStyle``.
    private func writeFormatted(_ text: String) {
        if json { JSONEvents.output(text) } else { StandardOutput.writeFormatted(text) }
    }

    /// Something the user should know, on standard error (and as a `notice` event with `--json`).
    private func notice(_ text: String) {
        StandardError.write("magi: \(text)\n")
        if json { JSONEvents.emit(.notice(text)) }
    }

    /// An error: one line on standard error (in a script, with the line it came from), an `error`
    /// event with `--json`; a script stops after it unless `--keep-going`.
    private mutating func report(_ message: String) {
        failed = true
        var location = ""
        if case .script(let script, _) = mode { location = "\(script.name):\(script.lineNumber): " }
        StandardError.write("\(location)error: \(message)\n")
        if json { JSONEvents.error(location + message) }
    }
}
