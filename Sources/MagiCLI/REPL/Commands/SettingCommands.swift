/// `/help`, `/system`, `/set`, `/show` and `/think show`.
extension ConversationDriver {
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

    /// `/system` shows the system message, `/system TEXT` replaces it.
    mutating func system(_ text: String?) {
        guard let text else {
            if let system = conversation.system {
                write(system + "\n")
            } else {
                writeDimmed(backend.defaultSystemMessage.map { "(the template's) " + $0 } ?? "(none)")
            }
            return
        }
        conversation.system = text
        writeDimmed("system message set")
    }

    /// `/set NAME VALUE`.
    mutating func set(_ change: SettingChange) {
        switch change {
        case .contextSize(let size):
            let resized = backend.resized(to: size)
            for text in resized.notices { notice(text) }
            backend = resized.backend
            settings.apply(.contextSize(backend.contextSize))
            writeDimmed(resized.confirmation)
        case .format(let spec):
            do {
                answerConstraint = try AnswerFormat.constraint(for: spec)
                settings.apply(.format(spec))
                writeDimmed("format is now \(spec)")
            } catch {
                report("\(error)")
            }
        default:
            settings.apply(change)
            writeDimmed("\(change.setting.name) is now \(settings.value(of: change.setting))")
        }
    }

    /// The text of `/show SUBJECT`.
    func show(_ subject: ShowSubject) -> String {
        switch subject {
        case .params: return settings.listing
        case .system: return conversation.system ?? backend.defaultSystemMessage.map { "(the template's) " + $0 } ?? "(none)"
        case .info, .template, .license:
            return backend.details(subject)
        }
    }

    /// `/think show`: the reasoning of the last reply.
    mutating func showThinking() {
        if lastReasoning.isEmpty { report("the last reply has no reasoning") } else { writeDimmed(lastReasoning) }
    }
}
