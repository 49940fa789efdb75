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
    private let style = TerminalStyle.standardOutput

    init(turn: ChatTurn, settings: REPLSettings, system: String?) {
        self.turn = turn
        self.settings = settings
        self.conversation = REPLConversation(system: system)
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
            let prompt = try turn.promptTokens(for: next.messages + [.user(question)])
            let interruptsBefore = InterruptSignal.count
            let reply = try await turn.generate(prompt: prompt, sampling: settings.samplingForNextAnswer(), maxTokens: settings.maxTokens,
                                                shouldStop: { InterruptSignal.count != interruptsBefore },
                                                output: { [style] event in
                                                    switch event {
                                                    case let .text(piece): FileHandle.standardOutput.write(Data(piece.utf8))
                                                    case let .reasoning(piece): FileHandle.standardOutput.write(Data(style.dim(piece).utf8))
                                                    case let .toolCall(call): StandardError.write("magi: the model called \(call.name) (no tools are enabled)\n")
                                                    case let .malformedToolCall(error): StandardError.write("magi: \(error)\n")
                                                    }
                                                })
            write(reply.wasInterrupted ? " " + style.dim("[interrupted]") + "\n\n" : "\n\n")
            next.append(.init(question: question, answer: reply.text, wasInterrupted: reply.wasInterrupted))
            conversation = next
            if let notice = turn.contextFullNotice(for: reply.summary) { StandardError.write("magi: \(notice)\n") }
            if settings.verbose { StandardError.write(turn.statusLine(for: reply.summary) + "\n") }
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
            write(style.dim("conversation cleared") + "\n")
        case .retry:
            guard let last = conversation.exchanges.last else { report("nothing to retry"); break }
            await answer(last.question, retrying: true)
        case .undo:
            guard conversation.removeLast() != nil else { report("nothing to undo"); break }
            write(style.dim("last exchange dropped") + "\n")
        case .save(let path):
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
                try encoder.encode(Conversation(messages: conversation.messages)).write(to: URL(fileURLWithPath: expandingTilde(path)))
                write(style.dim("saved \(conversation.exchanges.count) exchanges to \(path)") + "\n")
            } catch {
                report("\(path): \(error.localizedDescription)")
            }
        case .load(let path):
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: expandingTilde(path)))
                conversation = try REPLConversation(messages: JSONDecoder().decode(Conversation.self, from: data).messages)
                write(style.dim("loaded \(conversation.exchanges.count) exchanges from \(path)") + "\n")
            } catch let error as ConversationFileError {
                report("\(path): \(error)")
            } catch {
                report("\(path): \(error.localizedDescription)")
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

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// One line on standard error.
    private func report(_ message: String) {
        StandardError.write("error: \(message)\n")
    }

    private func expandingTilde(_ path: String) -> String {
        (path as NSString).expandingTildeInPath
    }
}
