import MagiChat
import MagiTools

/// `/tools`, `/tool NAME ARGS` and `/restart NAME`.
extension ConversationDriver {
    /// `/tools`: the tools offered and whether their calls are asked about.
    func listTools() {
        guard !offeredTools.isEmpty else {
            writeDimmed("no tools offered: start magi with --tools NAME,… or --tools all (magi tools lists them)")
            return
        }
        write(tools.runner.registry.tools.map { tool in
            let access = tool.access.isEmpty ? "" : " [\(tool.access.summary)]"
            return "\(tool.name)\(access) — \(tools.permissions.policy(for: tool).rawValue)"
        }.joined(separator: "\n") + "\n")
    }

    /// `/tool NAME ARGS`: runs an offered tool directly and prints its result.
    mutating func callTool(_ name: String, arguments: String) async {
        guard let tool = tools.runner.registry[name] else {
            report("no tool named \(name) is offered" + (tools.runner.registry.isEmpty ? "; start magi with --tools \(name)"
                                                            : "; the tools are: " + tools.runner.registry.names.joined(separator: ", ")))
            return
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
    }

    /// `/restart NAME`: a fresh interpreter for a tool that keeps state.
    mutating func restartTool(_ name: String) {
        guard let tool = tools.runner.registry[name] else { report("no tool named \(name) is offered"); return }
        guard let stateful = tool as? any StatefulTool else { report("\(name) keeps no state between calls: there is nothing to restart"); return }
        write(style.dim(stateful.restart()) + "\n")
    }
}
