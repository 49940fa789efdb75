extension ConversationDriver {
    /// Carries out `command` (each group of commands has a file of its own); false when it is
    /// time to leave.
    mutating func execute(_ command: SlashCommand) async -> Bool {
        switch command {
        case .help: write(Self.help)
        case .system(let text): system(text)
        case .set(let change): set(change)
        case .show(let subject): write(show(subject) + "\n")
        case .showThinking: showThinking()
        case .clear: clear()
        case .retry: await retry()
        case .undo: undo()
        case .save(let name): save(as: name)
        case .load(let name): load(name)
        case .sessions: listSessions()
        case .compact: await compact()
        case .context: showContext()
        case .tools: listTools()
        case let .tool(name, arguments): await callTool(name, arguments: arguments)
        case .restartTool(let name): restartTool(name)
        case .model(nil): write(backend.modelName + "\n")
        case .model(let name?): switchModel(to: name)
        case .image(let path): attachImage(path)
        case .exit: return false
        }
        return true
    }
}
