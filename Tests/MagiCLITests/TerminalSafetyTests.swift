import Foundation
import Testing

/// Control sequences sent through every channel that reaches the terminal — a remote answer and its
/// reasoning, a plugin's result, a page `fetch_url` read, an MCP server's result, and the local
/// model's own output — arrive visible and are never executed: checked in tmux (the window title,
/// the screen) and in the bytes magi wrote to it (`pipe-pane`). On a pipe the text is unchanged.
@Suite(.serialized) struct TerminalSafetyTests {
    static var enabled: Bool { REPLScreenTests.hasTmux || ProcessInfo.processInfo.environment["CI"] != nil }

    static let answer = "Answer \u{1B}]52;c;YW5zd2Vy\u{07} title \u{1B}]0;answer-title\u{07} clear \u{1B}[2J csi \u{9B}31m end"
    static let reasoning = "Thinking \u{1B}]0;think-title\u{07} here"
    static let page = "<html><head><title>page \u{1B}]0;page-title\u{07}</title></head><body><p>page \u{1B}]52;c;cGFnZQ==\u{07} text \u{1B}[2J</p></body></html>"

    /// The replies of a remote model that calls each tool once, then answers with reasoning.
    // Unsafe but sound: literals, never mutated (`Any` keeps the type from being Sendable).
    nonisolated(unsafe) static let script: [[String: Any]] = [
        ["tool_call": ["name": "hostile", "arguments": "{}"]],
        ["tool_call": ["name": "fetch_url", "arguments": #"{"url": "http://127.0.0.1:{PORT}/page"}"#]],
        ["tool_call": ["name": "escapes", "arguments": "{}"]],
        ["reasoning": reasoning, "content": answer],
    ]

    /// (The plugin's result holds a clipboard write, a title and a screen clear.)
    /// Runs `body` with a harness holding the hostile plugin and MCP server, a scripted remote model
    /// on loopback, and the arguments of a turn with that model and all three tools.
    static func withHostileChannels(_ body: (ChildHarness, ScriptedServer, [String]) throws -> Void) throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        try harness.addPlugin("hostile", script: #"printf '{"result": "plugin \\u001b]52;c;cGx1Z2lu\\u0007 \\u001b]0;plugin-title\\u0007 \\u001b[2J"}\n'"#)
        let server = try ScriptedServer(script: script, page: page, home: harness.home)
        defer { server.stop() }
        let mcp = try harness.mcpConfig(["probe": ChildHarness.probeServer(marker: ChildHarness.marker())])
        try body(harness, server, ["--remote", server.url, "--mcp-config", mcp, "--tools", "hostile,fetch_url,escapes", "--yes", "--show-thinking"])
    }

    /// The raw sequences that must never reach a terminal.
    static let live = ["\u{1B}]52", "\u{1B}]0;", "\u{1B}[2J", "\u{9B}", "\u{07}"]

    @Test(.enabled(if: enabled && ToolCommandLineTests.hasMCP)) func everyChannelArrivesVisibleInATerminal() throws {
        try Self.withHostileChannels { harness, server, arguments in
            let (screen, bytes, titles) = try Self.inTmux(harness: harness, arguments + ["-p", "go"])
            #expect(titles.before == titles.after, "the title became \(titles.after)")
            // The screen was not cleared: what was there before magi still shows.
            #expect(screen.contains("BEFORE-MAGI"), "\(screen)")
            for shown in ["plugin ^[]52;c;cGx1Z2lu^G ^[]0;plugin-title^G ^[[2J", "^[]0;page-title^G", "mcp says ^[]52;c;bWNw^G",
                          "Thinking ^[]0;think-title^G here", "Answer ^[]52;c;YW5zd2Vy^G title ^[]0;answer-title^G clear ^[[2J csi \\x9b31m end"] {
                #expect(screen.contains(shown), "\(shown) not on screen:\n\(screen)")
            }
            let written = String(decoding: bytes, as: UTF8.self)
            #expect(!written.isEmpty)
            for sequence in Self.live { #expect(!written.contains(sequence), "\(sequence.debugDescription) reached the terminal") }
        }
    }

    @Test(.enabled(if: ToolCommandLineTests.hasMCP)) func aPipeGetsTheTextUnchanged() throws {
        try Self.withHostileChannels { harness, server, arguments in
            let run = try MagiRun(arguments + ["-p", "go"], harness: harness)
            #expect(run.wait() == 0, "\(run.stderr)")
            #expect(run.stdoutBytes == Data((Self.answer + "\n").utf8), "\(run.stdout.debugDescription)")
            // Reasoning and the transcript go to standard error, a pipe here: as they came.
            #expect(run.stderr.contains(Self.reasoning) && run.stderr.contains("plugin \u{1B}]52;c;cGx1Z2lu\u{07}"), "\(run.stderr.debugDescription)")
            // `--json` on a pipe: the same text, as JSON.
            let json = try MagiRun(["--remote", server.url, "-p", "go", "--json"], harness: harness)
            #expect(json.wait() == 0)
            let answers = RemoteCommandLineTests.events(json.stdout).filter { $0["type"] as? String == "answer" }.compactMap { $0["text"] as? String }
            #expect(answers.joined() == Self.answer, "\(json.stdout)")
        }
    }

    /// The local engine's own output, pinned by a grammar to control sequences, through the renderer.
    @Test(.enabled(if: enabled && CommandLineTests.hasModel)) func theLocalModelsOutputArrivesVisible() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let grammar = harness.home + "/escapes.gbnf"
        try #"root ::= "local \x1b]0;local-title\x07 and \x1b]52;c;bG9jYWw=\x07 and \x1b[2J end""#.write(toFile: grammar, atomically: true, encoding: .utf8)
        let (screen, bytes, titles) = try Self.inTmux(harness: harness, ["-p", "hi", "--grammar-file", grammar, "--temp", "0", "-n", "80", "-t", "2"])
        #expect(titles.before == titles.after, "the title became \(titles.after)")
        #expect(screen.contains("BEFORE-MAGI") && screen.contains("local ^[]0;local-title^G and ^[]52;c;bG9jYWw=^G and ^[[2J end"), "\(screen)")
        let written = String(decoding: bytes, as: UTF8.self)
        for sequence in Self.live { #expect(!written.contains(sequence), "\(sequence.debugDescription) reached the terminal") }
        // On a pipe, the same answer passes as the model wrote it.
        let piped = try MagiRun(["-p", "hi", "--grammar-file", grammar, "--temp", "0", "-n", "80", "-t", "2"], harness: harness)
        #expect(piped.wait() == 0)
        #expect(piped.stdout == "local \u{1B}]0;local-title\u{07} and \u{1B}]52;c;bG9jYWw=\u{07} and \u{1B}[2J end\n", "\(piped.stdout.debugDescription)")
    }

    /// An error message that echoes outside text (here a file name) shows it visibly too.
    @Test(.enabled(if: enabled)) func errorMessagesEchoOutsideTextVisibly() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let name = harness.home + "/model \u{1B}]0;error-title\u{07}\u{1B}[2J.gguf"
        let (screen, bytes, titles) = try Self.inTmux(harness: harness, ["-m", name, "-p", "hi"])
        #expect(titles.before == titles.after && screen.contains("BEFORE-MAGI"), "\(screen)")
        #expect(screen.contains("model ^[]0;error-title^G^[[2J.gguf"), "\(screen)")
        let written = String(decoding: bytes, as: UTF8.self)
        for sequence in Self.live { #expect(!written.contains(sequence), "\(sequence.debugDescription) reached the terminal") }
        // On a pipe the message names the file as it is.
        let piped = try MagiRun(["-m", name, "-p", "hi"], harness: harness)
        #expect(piped.wait() == 1 && piped.stderr.contains(name), "\(piped.stderr.debugDescription)")
    }

    /// Runs magi with `arguments` in a tmux pane after a line `BEFORE-MAGI`, every byte the pane gets
    /// copied by `pipe-pane`; returns the screen, those bytes and the pane's title before and after.
    static func inTmux(harness: ChildHarness, _ arguments: [String]) throws -> (screen: String, bytes: Data, titles: (before: String, after: String)) {
        let tmux = try Tmux(columns: 200, rows: 50)
        defer { tmux.close() }
        let environment = harness.environment.map { "\($0.key)=\($0.value)" }
        let magi = (["env", "-u", "NO_COLOR"] + environment + [CommandLineTests.executable] + arguments).map(Tmux.shellQuoted).joined(separator: " ")
        let bytesPath = harness.home + "/pane-bytes"
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "200", "-y", "50",
                      "printf 'BEFORE-MAGI\\n'; read go; \(magi); printf 'AFTER-MAGI\\n'; read done"])
        _ = try tmux.waitForScreen { $0.contains("BEFORE-MAGI") }
        let before = try tmux.run(["display", "-p", "-t", tmux.session, "#{pane_title}"])
        try tmux.run(["pipe-pane", "-t", tmux.session, "-o", "cat > " + Tmux.shellQuoted(bytesPath)])
        try tmux.run(["send-keys", "-t", tmux.session, "Enter"])
        _ = try tmux.waitForScreen { $0.contains("AFTER-MAGI") }
        let screen = try tmux.run(["capture-pane", "-p", "-e", "-J", "-t", tmux.session])
        let after = try tmux.run(["display", "-p", "-t", tmux.session, "#{pane_title}"])
        try tmux.run(["pipe-pane", "-t", tmux.session])
        return (screen, FileManager.default.contents(atPath: bytesPath) ?? Data(), (before, after))
    }
}
