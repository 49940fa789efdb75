import Foundation
import Testing

/// The REPL asks before a call that reaches the network: `n` refuses it, `a` allows it for the
/// rest of the session. `--tool-choice required` makes the default model call at `--temp 0`.
@Suite(.serialized) struct ToolPermissionTerminalTests {
    static let question = "allow fetch_url (network)? [y]es / [n]o / [a]lways for this tool: "

    @Test(.enabled(if: CommandLineTests.hasModel)) func theUserDecidesAndAlwaysIsRemembered() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let terminal = try REPLTerminalTests().startMagi(home: home, ["--tools", "fetch_url", "--tool-choice", "required",
                                                                     "--max-tool-steps", "2", "-n", "100"])
        terminal.send("Fetch http://127.0.0.1:1/ please.\r")
        try terminal.expect(Self.question)
        terminal.send("n\r")
        try terminal.expect("✗ not run: the user declined to run 'fetch_url'")
        try terminal.expect(REPLTerminalTests.prompt)
        terminal.send("Fetch http://127.0.0.1:1/ again.\r")
        try terminal.expect(Self.question)
        terminal.send("a\r")
        try terminal.expect("✗ the tool failed: ")
        try terminal.expect(REPLTerminalTests.prompt)
        terminal.send("And once more, fetch http://127.0.0.1:1/.\r")
        let output = try terminal.expect("✗ the tool failed: ")
        #expect(!output.contains(Self.question))
        try terminal.expect(REPLTerminalTests.prompt)
        try REPLTerminalTests().leave(terminal)
    }
}
