import Foundation
import Testing

/// What a person sees: the REPL in a real terminal emulator (tmux), its screen read back with
/// `capture-pane` after an answer with a heading, math, a table and code has streamed in.
///
/// The answer is pinned by a grammar that admits one text only, so the model's generation path,
/// the streaming renderer and the terminal all take part while the content stays fixed. The
/// screen must equal `magi render` of the same text: streaming redraws leave no trace.
@Suite(.serialized) struct REPLScreenTests {
    static let answer = """
        # Results

        The roots of $x^2 - 5x + 6 = 0$ follow from the formula below.

        $$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$

        | method | steps | exact |
        |:-------|------:|:-----:|
        | factoring | 2 | yes |
        | formula | 4 | yes |

        ```python
        def roots(a, b, c):
            d = (b * b - 4 * a * c) ** 0.5
            return ((-b + d) / (2 * a), (-b - d) / (2 * a))
        ```

        So the answer is $\\boxed{x = 2 \\text{ or } x = 3}$, and both roots are positive integers.

        Vieta's formulas predict exactly this for a monic quadratic: the sum of the roots is the \
        negated linear coefficient, five, and their product is the constant term, six. Checking \
        both takes a moment and catches most slips of sign made while completing the square.
        """

    static var hasTmux: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }
    static var enabled: Bool { CommandLineTests.hasModel && (hasTmux || ProcessInfo.processInfo.environment["CI"] != nil) }

    /// A GBNF grammar whose only sentence is `text`.
    static func grammar(admitting text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "root ::= \"\(escaped)\"\n"
    }

    @Test(.enabled(if: enabled)) func aStreamedAnswerLooksAsMagiRenderDrawsIt() throws {
        let tmux = try Tmux(columns: 80, rows: 60)
        defer { tmux.close() }
        try tmux.startMagi(answering: Self.answer)
        tmux.type("Show me")
        let screen = try tmux.waitForAnswer()
        let expected = try render(Self.answer, width: 80)
        #expect(screen == expected)
        #expect(expected.contains { $0.hasPrefix("┌") } && expected.contains("    x = (-b ± √(b² - 4ac))/2a"))
    }

    @Test(.enabled(if: enabled)) func aResizeMidAnswerLaysTheOpenBlockOutAtTheNewWidth() throws {
        let tmux = try Tmux(columns: 100, rows: 60)
        defer { tmux.close() }
        try tmux.startMagi(answering: Self.answer)
        tmux.type("Show me")
        // The heading is printed for good as soon as the next block begins; the rest is still coming.
        _ = try tmux.waitForScreen { $0.contains("Results") }
        try tmux.run(["resize-window", "-t", tmux.session, "-x", "60", "-y", "60"])
        let screen = try tmux.waitForAnswer()
        let lastParagraph = String(Self.answer[Self.answer.range(of: "Vieta")!.lowerBound...])
        let expected = try render(lastParagraph, width: 60)
        #expect(Array(screen.suffix(expected.count)) == expected)
        #expect(screen.allSatisfy { $0.count <= 60 })
        #expect(screen.filter { $0 == "Results" }.count == 1)
        #expect(screen.filter { $0.hasPrefix("┌") }.count == 1)
    }

    @Test(.enabled(if: enabled)) func reasoningFoldsToOneLineThatThinkShowExpands() throws {
        let tmux = try Tmux(columns: 80, rows: 40)
        defer { tmux.close() }
        try tmux.startMagi(answering: "<think>Two plus two.\nThat makes four.</think>The answer is **4**.")
        tmux.type("Show me")
        let folded = try tmux.waitForAnswer()
        let fold = try Regex(#"^thought for \d+ s, \d+ tokens — /think show shows it$"#)
        #expect(folded.count == 3 && folded[0].contains(fold), "\(folded)")
        #expect(folded[2] == "The answer is 4.")
        tmux.type("/think show")
        let shown = try tmux.waitForScreen { $0.last == ">>>" && $0.contains(">>> /think show") }
        #expect(Array(shown.suffix(3)) == ["Two plus two.", "That makes four.", ">>>"])
    }

    /// `magi render --color always --width N` of `markdown` as a terminal shows it in plain text:
    /// escape sequences removed, no trailing spaces or blank lines.
    func render(_ markdown: String, width: Int) throws -> [String] {
        let out = try CommandLineTests().magi(["render", "--color", "always", "--width", "\(width)"], stdin: markdown)
        #expect(out.status == 0)
        let plain = out.stdout.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m|\u{1B}\\]8;[^\u{1B}]*\u{1B}\\\\", with: "", options: .regularExpression)
        var lines = Tmux.screenLines(plain)
        while lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// A detached tmux server of its own (its own socket) running one window.
struct Tmux {
    let socket = "magi-test-\(UUID().uuidString.prefix(8))"
    let session = "magi"
    let columns: Int, rows: Int
    let home: String

    init(columns: Int, rows: Int) throws {
        self.columns = columns
        self.rows = rows
        home = try REPLTerminalTests.makeHome()
    }

    /// Starts the REPL on the default model, its answers pinned to `answer` by a grammar.
    func startMagi(answering answer: String) throws {
        let grammar = home + "/answer.gbnf"
        try REPLScreenTests.grammar(admitting: answer).write(toFile: grammar, atomically: true, encoding: .utf8)
        let command = ["env", "-u", "NO_COLOR", "HOME=\(home)", "XDG_DATA_HOME=\(home)/data", "MAGI_HOME=\(CommandLineTests.magiHome)",
                       CommandLineTests.executable, "--temp", "0", "-n", "1000", "--grammar-file", grammar]
        try run(["new-session", "-d", "-s", session, "-x", "\(columns)", "-y", "\(rows)",
                 command.map(Self.shellQuoted).joined(separator: " ")])
        _ = try waitForScreen { $0.last == ">>>" }
    }

    /// Types `text` and Enter.
    func type(_ text: String) {
        _ = try? run(["send-keys", "-t", session, "-l", text])
        _ = try? run(["send-keys", "-t", session, "Enter"])
    }

    /// The screen once the answer has ended and the next prompt shows: the lines between the
    /// typed message and that prompt, without the blank lines around them.
    func waitForAnswer() throws -> [String] {
        let screen = try waitForScreen { lines in
            guard let asked = lines.lastIndex(of: ">>> Show me") else { return false }
            return lines[(asked + 1)...].contains(">>>")
        }
        let asked = screen.lastIndex(of: ">>> Show me")!
        var answer = Array(screen[(asked + 1)..<screen[(asked + 1)...].firstIndex(of: ">>>")!])
        while answer.first == "" { answer.removeFirst() }
        while answer.last == "" { answer.removeLast() }
        return answer
    }

    /// Polls the screen (history included) until `ready` holds, for at most two minutes.
    func waitForScreen(_ ready: ([String]) -> Bool) throws -> [String] {
        let deadline = Date().addingTimeInterval(120)
        while true {
            let lines = Self.screenLines(try run(["capture-pane", "-p", "-S", "-", "-t", session]))
            var trimmed = lines
            while trimmed.last == "" { trimmed.removeLast() }
            if ready(trimmed) { return trimmed }
            if Date() > deadline {
                throw TmuxError(message: "timed out; the screen shows:\n" + trimmed.joined(separator: "\n"))
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Runs tmux with `arguments` and returns what it printed. Spawned and waited for by hand:
    /// Foundation's `Process` waits for every process the child leaves behind, and `new-session`
    /// leaves the tmux server running.
    @discardableResult
    func run(_ arguments: [String]) throws -> String {
        let outputPath = home + "/tmux-output"
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The server tmux leaves running must not inherit the pipes other tests read to their end.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        let argv = ["/usr/bin/tmux", "-L", socket, "-f", "/dev/null"] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        // The test's threads block signals; a tmux server that inherited that mask would ignore
        // kill-server's and everyone's SIGTERM and outlive the test.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, &cArguments, environ)
        guard spawned == 0 else { throw TmuxError(message: "cannot run tmux: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TmuxError(message: "tmux \(arguments.first ?? ""): \(text)") }
        return text
    }

    /// Ends the tmux server, then anything still running on this test's files (a magi that outlived
    /// its terminal), with SIGKILL after a grace second.
    func close() {
        _ = try? run(["kill-server"])
        let deadline = Date().addingTimeInterval(1)
        while !Self.processes(mentioning: home).isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        for pid in Self.processes(mentioning: home) { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: home)
    }

    /// Processes whose command line mentions `text`.
    static func processes(mentioning text: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), pid != getpid(),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text) ? pid : nil
        }
    }

    /// Text split into lines with trailing spaces removed, as `capture-pane` prints a screen.
    static func screenLines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var line = Substring(line)
            while line.last == " " { line.removeLast() }
            return String(line)
        }
    }

    static func shellQuoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

struct TmuxError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
