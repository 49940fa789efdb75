import Foundation
import MagiChat

/// A conversation driven line by line: interactively on a terminal, or from a script. Messages go
/// to the ``ConversationDriver``, slash commands to its ``ConversationDriver/execute(_:)``.
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
    }

    var driver: ConversationDriver
    let mode: Mode

    /// A REPL driving `driver` with the lines `mode` names.
    init(driver: ConversationDriver, mode: Mode) {
        self.driver = driver
        self.mode = mode
        switch mode {
        case .interactive: self.driver.input = .terminal
        case .script(let script, _): self.driver.input = .script(script)
        }
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
            StandardError.write("magi: \(driver.backend.shortName) — /help for commands, \"\"\" for several lines, Ctrl-D to quit\n")
        case .script(let script, _):
            lines = script
            input.skipsComments = true
        }
        while true {
            if case .script(_, keepGoing: false) = mode, driver.failed { return 1 }
            guard let event = input.consume(lines.readLine(prompt: input.prompt)) else { continue }
            switch event {
            case .end:
                if case .interactive = mode {
                    driver.write("\n")
                    return 0
                }
                if input.wasInsideMessage { driver.report("the script ended inside a message (a \"\"\" block or a line ending in \\)") }
                return driver.failed ? 1 : 0
            case .interrupt:
                continue
            case .message(let text):
                await driver.answer(text)
            case .invalidCommand(let error):
                driver.report("\(error)")
            case .command(let command):
                guard await driver.execute(command) else {
                    if case .interactive = mode { return 0 }
                    return driver.failed ? 1 : 0
                }
            }
        }
    }
}
