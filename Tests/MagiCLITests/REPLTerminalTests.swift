import Foundation
import Testing

/// The REPL end to end: the real `magi` on a pseudo-terminal, typed at as a person would.
///
/// Each test gets its own XDG_DATA_HOME (history) and HOME (no ~/.editrc); greedy decoding keeps
/// the answers fixed. Every wait has a timeout.
@Suite(.serialized) struct REPLTerminalTests {
    static let prompt = ">>> "
    static let ctrlC = "\u{03}", ctrlD = "\u{04}", up = "\u{1B}[A"

    /// A fresh home for history and ~/.editrc.
    static func makeHome() throws -> String {
        let path = NSTemporaryDirectory() + "magi-repl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The environment of a REPL under test: `home` for HOME and XDG_DATA_HOME, the models' MAGI_HOME.
    static func environment(home: String) -> [String: String] {
        ["HOME": home, "XDG_DATA_HOME": home + "/data", "MAGI_HOME": CommandLineTests.magiHome,
         "TERM": "xterm", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    }

    func startMagi(home: String, _ arguments: [String] = []) throws -> PseudoTerminal {
        let terminal = try PseudoTerminal(executable: CommandLineTests.executable,
                                          arguments: ["--temp", "0", "-n", "48"] + arguments, environment: Self.environment(home: home))
        try terminal.expect(Self.prompt)
        return terminal
    }

    /// Ctrl-D at the prompt: exit status 0, terminal modes as they were.
    func leave(_ terminal: PseudoTerminal) throws {
        terminal.send(Self.ctrlD)
        #expect(try terminal.waitForExit() == 0)
        let before = terminal.initialModes, after = terminal.currentModes
        #expect(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag && after.c_oflag == before.c_oflag)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func answersAQuestionAndLeavesOnCtrlD() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home)
        magi.send("What is the capital of France?\r")
        try magi.expect("France?")
        let answer = try magi.expect(Self.prompt)
        let opening = try Self.opening(ofAnswerTo: "What is the capital of France?")
        #expect(answer.contains(opening), "\(answer) lacks \(opening)")
        try leave(magi)
    }

    /// The first two words `magi -p` answers `question` with (greedy, as `startMagi` runs the REPL):
    /// what the REPL must show too, whatever the text is on this machine's kernels.
    static func opening(ofAnswerTo question: String) throws -> String {
        let plain = try CommandLineTests().magi(["-p", question, "--temp", "0", "-n", "48"])
        guard plain.status == 0, !plain.stdout.isEmpty else { throw TmuxError(message: "magi -p failed (\(plain.status)): \(plain.stderr)") }
        return plain.stdout.split(whereSeparator: \.isWhitespace).prefix(2).joined(separator: " ")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func loadingShowsAProgressBarThenClearsIt() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try PseudoTerminal(executable: CommandLineTests.executable, arguments: ["--temp", "0"],
                                      environment: Self.environment(home: home))
        let screen = try magi.expect(Self.prompt)
        #expect(screen.contains("loading SmolLM2-135M-Instruct.Q4_1.gguf ████████████████████ 100%  "), "\(screen)")
        #expect(screen.contains("100%  98 MB of 98 MB\r\u{1B}[K"))
        try leave(magi)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func historyIsRecalledInTheNextRun() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let first = try startMagi(home: home)
        first.send("/system You are a pirate.\r")
        try first.expect("system message set")
        try leave(first)
        let history = home + "/data/magi/history"
        let permissions = try FileManager.default.attributesOfItem(atPath: history)[.posixPermissions] as? Int
        #expect(permissions == 0o600)

        let second = try startMagi(home: home)
        second.send(Self.up)
        try second.expect("You are a pirate.")
        second.send("\r")
        try second.expect("system message set")
        second.send("/system\r")
        try second.expect("/system\r\n")
        try second.expect("You are a pirate.")
        try leave(second)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func tabCompletesCommandsAndSettingsAndCtrlCClearsTheLine() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home)
        magi.send("/sys\t")
        try magi.expect("tem ")
        magi.send("Be brief.\r")
        try magi.expect("system message set")
        magi.send("/set temper\t")
        try magi.expect("ature ")
        magi.send("0.5\r")
        try magi.expect("temperature is now 0.5")
        // Ctrl-C abandons the typed text: what follows is a command, not "half a line/show params".
        magi.send("half a line")
        try magi.expect("half a line")
        magi.send(Self.ctrlC)
        try magi.expect(Self.prompt)
        magi.send("/show params\r")
        try magi.expect("temperature 0.5")
        magi.send("/sytem\r")
        try magi.expect("unknown command /sytem — did you mean /system?")
        // In a message, tab completes a file name.
        let file = home + "/completion-target-\(UUID().uuidString.prefix(8)).md"
        try Data().write(to: URL(fileURLWithPath: file))
        magi.send("summarise \(home)/completion-tar\t")
        try magi.expect(String(file.suffix(11))) // the unique tail; a long line may wrap before it
        magi.send(Self.ctrlC)
        try magi.expect(Self.prompt)
        try leave(magi)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func tripleQuotedPasteIsOneMessage() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home)
        magi.send("\"\"\"\rWhat is the capital\rof France?\r\"\"\"\r")
        try magi.expect("... \"\"\"")
        let answer = try magi.expect(Self.prompt)
        let opening = try Self.opening(ofAnswerTo: "What is the capital\nof France?")
        #expect(answer.contains(opening), "\(answer) lacks \(opening)")
        try leave(magi)
    }

    /// About 20 KB in one paste arrives whole: all of it is one message, too long for a 1024-token
    /// window, which the REPL reports without leaving.
    @Test(.enabled(if: CommandLineTests.hasModel)) func aTwentyKilobytePasteArrivesWhole() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home, ["-c", "1024"])
        let lines = (0..<290).map { String(format: "Line %03d: the quick brown fox jumps over the lazy dog, counting sheep.", $0) }
        let paste = (["\"\"\""] + lines + ["\"\"\""]).joined(separator: "\r") + "\r"
        #expect(paste.utf8.count > 20_000)
        magi.send(paste)
        try magi.expect("Line 289")
        let report = try magi.expect("more than the context window of 1024")
        let tokens = report.split(separator: " ").reversed().first { Int($0) != nil }.flatMap { Int($0) } ?? 0
        #expect(tokens > 4000, "\(report)")
        magi.send("/show info\r")
        try magi.expect("0 of 1024 tokens in use")
        try leave(magi)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func ctrlCStopsAnAnswerAndTheNextQuestionIsAnswered() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home, ["-n", "1000"])
        magi.send("Write a long story about a dragon.\r")
        try magi.expect("dragon.\r\n")
        try magi.expectOutput(atLeast: 60)
        magi.send(Self.ctrlC)
        try magi.expect("[interrupted]")
        try magi.expect(Self.prompt)
        magi.send("What is the capital of France?\r")
        try magi.expect("France?")
        // After the cut story the answer is the model's to choose: that one comes is what counts.
        let answer = try magi.expect(Self.prompt)
        #expect(answer.filter(\.isLetter).count > 10, "\(answer)")
        try leave(magi)
    }

    /// A signal arriving while libedit has the terminal in raw mode still leaves it as it was.
    @Test(.enabled(if: CommandLineTests.hasModel)) func terminationRestoresTheTerminal() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home)
        magi.send("typed but not sent")
        try magi.expect("typed but not sent")
        kill(magi.pid, SIGTERM)
        #expect(try magi.waitForExit() == 128 + SIGTERM)
        let before = magi.initialModes, after = magi.currentModes
        #expect(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag)
    }
}
