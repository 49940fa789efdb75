import Foundation
import MagiChat
import MagiEngine

/// The interactive conversation on a terminal: reads messages and commands, streams answers.
///
/// Ctrl-C during an answer stops it and keeps what was written; at the prompt it abandons the line.
/// Ctrl-D on an empty line or `/exit` leaves.
struct REPL {
    let turn: ChatTurn
    var settings: REPLSettings
    var conversation: REPLConversation
    /// The tools offered and the permissions given so far.
    let tools: ToolSetup
    /// Where every turn autosaves the conversation.
    var session: SessionSlot
    /// The grammar every answer follows (`--grammar-file`, `--json-schema`), if any.
    var answerConstraint: Grammar?
    private let style = TerminalStyle.standardOutput

    /// A REPL on a new conversation, or on `resumed` (whose system message `system` replaces when given).
    init(turn: ChatTurn, settings: REPLSettings, system: String?, tools: ToolSetup = .none, session: SessionSlot,
         resumed: REPLConversation? = nil, answerConstraint: Grammar? = nil) {
        self.turn = turn
        self.answerConstraint = answerConstraint
        self.settings = settings
        self.tools = tools
        self.session = session
        self.conversation = resumed ?? REPLConversation(system: system)
        if let system { conversation.system = system }
    }

    /// `${XDG_DATA_HOME:-~/.local/share}/magi/history` (a relative XDG_DATA_HOME is ignored, as the spec says).
    static var historyPath: String {
        let xdg = ProcessInfo.processInfo.environment["XDG_DATA_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        return (xdg ?? NSHomeDirectory() + "/.local/share") + "/magi/history"
    }

    /// Runs until Ctrl-D or `/exit`.
    mutating func run() async {
        InterruptSignal.install()
        TerminalRestorer.install()
        let editor = LineEditor(historyPath: Self.historyPath, completion: SlashCommand.completion(before:word:))
        let name = (turn.model.path as NSString).lastPathComponent
        StandardError.write("magi: \(name) — /help for commands, \"\"\" for several lines, Ctrl-D to quit\n")
        var input = REPLInput()
        while true {
            guard let event = input.consume(editor.readLine(prompt: input.prompt)) else { continue }
            switch event {
            case .end:
                write("\n")
                return
            case .interrupt:
                continue
            case .message(let text):
                await answer(text)
            case .invalidCommand(let error):
                report("\(error)")
            case .command(let command):
                guard await execute(command) else { return }
            }
        }
    }

    /// Answers `question` after the conversation so far (without its last exchange when `retrying`),
    /// streaming the answer; the exchange joins the conversation even when interrupted.
    private mutating func answer(_ question: String, retrying: Bool = false) async {
        var next = conversation
        if retrying { next.removeLast() }
        do {
            let interruptsBefore = InterruptSignal.count
            let model = LocalAgentModel(turn: turn, sampling: settings.samplingForNextAnswer(), maxTokens: settings.maxTokens,
                                        answerConstraint: answerConstraint, constrainsToolCalls: true, requiresCall: tools.requiresCall)
            let fit = try turn.fit(Conversation(messages: next.promptMessages + [.user(question)], tools: offeredTools),
                                   maxTokens: settings.maxTokens)
            if !fit.reduction.isEmpty { StandardError.write("magi: \(fit.reduction)\n") }
            next.leaveOut(fit.reduction.droppedTurns)
            let display = AnswerDisplay()
            let reply = try await tools.loop(model: model).run(after: fit.conversation.messages,
                                                               shouldStop: { InterruptSignal.count != interruptsBefore },
                                                               output: { [style] event in
                                                                   switch event {
                                                                   case let .stream(.text(piece)): display.text(piece)
                                                                   case let .stream(.reasoning(piece)):
                                                                       display.finish()
                                                                       FileHandle.standardOutput.write(Data(style.dim(piece).utf8))
                                                                   case .stream(.toolCall): break
                                                                   case let .stream(.malformedToolCall(error)): StandardError.write("magi: \(error)\n")
                                                                   default:
                                                                       display.finish()
                                                                       ToolTranscript.write(event, style: style)
                                                                   }
                                                               })
            display.finish()
            write(reply.wasInterrupted ? " " + style.dim("[interrupted]") + "\n\n" : "\n\n")
            next.append(.init(question: question, replies: reply.messages, wasInterrupted: reply.wasInterrupted))
            conversation = next
            autosave()
            if let summary = reply.summary {
                if let notice = turn.contextFullNotice(for: summary) { StandardError.write("magi: \(notice)\n") }
                if settings.verbose { StandardError.write(turn.statusLine(for: summary) + "\n") }
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
                write(style.dim(turn.model.template.defaultSystemMessage.map { "(the template's) " + $0.content } ?? "(none)") + "\n")
            }
        case .system(let text?):
            conversation.system = text
            write(style.dim("system message set") + "\n")
        case .set(let change):
            settings.apply(change)
            write(style.dim("\(change.setting.rawValue) is now \(settings.value(of: change.setting))") + "\n")
        case .show(let subject):
            write(show(subject) + "\n")
        case .clear:
            conversation.clear()
            session.name = session.store.unusedName()
            write(style.dim("conversation cleared; later turns autosave to the new session \(session.name)") + "\n")
        case .retry:
            guard let last = conversation.exchanges.last else { report("nothing to retry"); break }
            await answer(last.question, retrying: true)
        case .undo:
            guard conversation.removeLast() != nil else { report("nothing to undo"); break }
            write(style.dim("last exchange dropped") + "\n")
        case .save(let name):
            do {
                var target = session
                target.name = try SessionName(name)
                try target.save(conversation)
                session = target
                write(style.dim("saved \(conversation.exchanges.count) exchanges as \(name); later turns autosave to it") + "\n")
            } catch {
                report("\(error)")
            }
        case .load(let name):
            do {
                let loaded = try session.load(SessionName(name))
                conversation = loaded.conversation
                session.name = try SessionName(name)
                let note = loaded.otherModel.map { " (saved with \($0), rendered in this model's format)" } ?? ""
                write(style.dim("loaded \(conversation.exchanges.count) exchanges from \(name)\(note)") + "\n")
            } catch let error as ConversationFileError {
                report("\(name): \(error)")
            } catch {
                report("\(error)")
            }
        case .sessions:
            do {
                let listings = try session.store.list()
                write(listings.isEmpty ? style.dim("no saved sessions in \(session.store.directory)") + "\n" : Self.table(of: listings, current: session.name))
            } catch {
                report("\(error)")
            }
        case .compact:
            await compact()
        case .context:
            do {
                let messages = Conversation(messages: conversation.promptMessages, tools: offeredTools)
                let usage = try ContextUsage(of: messages, contextSize: turn.session.contextSize, measure: turn.measure)
                let cached = turn.session.commonPrefixLength(with: try turn.model.promptTokens(for: messages))
                let leftOut = conversation.leftOut > 0 ? "; \(conversation.leftOut) oldest exchanges left out (kept in the session)" : ""
                write(usage.table + "\n" + style.dim("the KV cache holds \(turn.session.tokens.count) tokens; the next turn reuses \(cached) of them"
                                                      + leftOut) + "\n")
            } catch {
                report("\(error)")
            }
        case .exit:
            return false
        }
        return true
    }

    private func show(_ subject: ShowSubject) -> String {
        let model = turn.model
        switch subject {
        case .params:
            return settings.listing
        case .system:
            return conversation.system ?? model.template.defaultSystemMessage.map { "(the template's) " + $0.content } ?? "(none)"
        case .info:
            let c = model.model.configuration
            return """
                model          \(model.path)
                architecture   \(c.architecture), \(c.layerCount) layers, embedding \(c.embeddingSize), \(c.headCount) heads (\(c.kvHeadCount) for keys and values)
                weights        \(model.model.weightBytes / 1_000_000) MB
                vocabulary     \(c.vocabularySize) tokens
                context        \(turn.session.tokens.count) of \(turn.session.contextSize) tokens in use (trained on \(c.contextLength))
                chat format    \(model.template.format?.rawValue ?? "not recognised")
                threads        \(turn.session.threadCount)
                """
        case .template:
            return "format: \(model.template.format?.rawValue ?? "not recognised")\n" + (model.template.source ?? "(the model file has no chat template)")
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
    static func table(of listings: [SessionListing], current: SessionName) -> String {
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
            let fit = try turn.fit(Conversation(messages: older.messages + [.user(REPLConversation.summaryRequest)]), maxTokens: settings.maxTokens)
            if !fit.reduction.isEmpty { StandardError.write("magi: \(fit.reduction)\n") }
            let interruptsBefore = InterruptSignal.count
            let reply = try await turn.generate(prompt: turn.promptTokens(for: fit.conversation), sampling: settings.samplingForNextAnswer(),
                                                maxTokens: settings.maxTokens, shouldStop: { InterruptSignal.count != interruptsBefore },
                                                output: { [style] event in
                                                    if case let .text(piece) = event { FileHandle.standardOutput.write(Data(style.dim(piece).utf8)) }
                                                })
            write("\n")
            guard !reply.wasInterrupted, !reply.text.isEmpty else { report("compaction stopped: the conversation is unchanged"); return }
            let count = conversation.exchanges.count - 1
            conversation.compact(into: reply.text.trimmingWhitespace())
            autosave()
            write(style.dim("\(count) exchanges replaced by the summary above") + "\n")
        } catch {
            report("\(error)")
        }
    }

    /// The tools offered, as the chat format lists them.
    private var offeredTools: [ToolDefinition] {
        tools.loop(model: LocalAgentModel(turn: turn, sampling: settings.sampling, maxTokens: nil, answerConstraint: nil,
                                          constrainsToolCalls: false)).toolDefinitions
    }

    /// Saves the conversation to the current session, reporting a failure in one line.
    private func autosave() {
        do { try session.save(conversation) } catch { report("autosave: \(error)") }
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// One line on standard error.
    private func report(_ message: String) {
        StandardError.write("error: \(message)\n")
    }
}
