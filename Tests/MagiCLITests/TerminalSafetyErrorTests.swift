import Foundation
import Testing

/// Messages that echo outside text — a server's error body (JSON or not, 4xx or 5xx), the model name
/// a server echoes back, a tool name a remote model called, a file name from the command line — and
/// the bidirectional controls of Trojan Source (CVE-2021-42574) in an answer, through the binary:
/// visible in a real terminal and in the bytes magi wrote to it, as they came on a pipe.
extension TerminalSafetyTests {
    /// A clipboard write, a title, a screen clear, the one-character CSI and two reordering controls.
    static let hostile = "\u{1B}]52;c;ZXJy\u{07} \u{1B}]0;error-title\u{07} \u{1B}[2J \u{9B}31m \u{202E}evil\u{2066}x"
    static let hostileShown = "^[]52;c;ZXJy^G ^[]0;error-title^G ^[[2J \\x9b31m <U+202E>evil<U+2066>x"
    static let reordering = ["\u{202E}", "\u{2066}"]

    /// One way for a remote turn to show outside text: the server's script, magi's extra arguments,
    /// the text the terminal must show, and whether magi fails.
    struct EchoCase: CustomTestStringConvertible, Sendable {
        let name: String
        let script: [[String: String]]
        let arguments: [String]
        let shown: String
        /// On a pipe: the text as it came, on standard error (or standard output for an answer).
        let raw: String
        let fails: Bool
        var testDescription: String { name }
    }

    static func errorBody(_ message: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: ["error": ["message": message, "type": "invalid_request_error"]]), as: UTF8.self)
    }

    static let echoCases: [EchoCase] = [
        EchoCase(name: "a JSON error body (400)", script: [["status": "400", "body": errorBody("bad request " + hostile)]], arguments: [],
                 shown: "answered 400: bad request " + hostileShown, raw: "answered 400: bad request " + hostile, fails: true),
        EchoCase(name: "a plain-text error body (503, retried)", script: [["status": "503", "body": "overloaded " + hostile + "\n", "content_type": "text/plain"]],
                 arguments: [], shown: "answered 503: overloaded " + hostileShown, raw: "answered 503: overloaded " + hostile, fails: true),
        EchoCase(name: "a model name the server echoes (404)", script: [["status": "404", "body": errorBody("The model '{MODEL}' does not exist")]],
                 arguments: ["-m", "gpt" + hostile], shown: "The model 'gpt" + hostileShown + "' does not exist",
                 raw: "The model 'gpt" + hostile + "' does not exist", fails: true),
        EchoCase(name: "a tool name a remote model calls", script: [["tool_name": "no" + hostile + "such"], ["content": "done"]],
                 arguments: ["--tools", "calculator", "--yes"], shown: "no tool named 'no" + hostileShown + "such'",
                 raw: "no tool named 'no" + hostile + "such'", fails: false),
        EchoCase(name: "a file name on the command line", script: [["content": "unused"]], arguments: ["-i", "/nonexistent/pic" + hostile + ".png"],
                 shown: "/nonexistent/pic" + hostileShown + ".png", raw: "/nonexistent/pic" + hostile + ".png", fails: true),
        EchoCase(name: "an answer with reordering controls", script: [["content": "answer " + hostile]], arguments: [],
                 shown: "answer " + hostileShown, raw: "answer " + hostile, fails: false),
    ]

    /// The script as the scripted server reads it (a status as a number, a tool call as an object).
    static func serverScript(_ script: [[String: String]]) -> [[String: Any]] {
        script.map { reply in
            var out: [String: Any] = reply
            if let status = reply["status"] { out["status"] = Int(status)! }
            if let name = reply["tool_name"] {
                out["tool_name"] = nil
                out["tool_call"] = ["name": name, "arguments": "{}"]
            }
            return out
        }
    }

    @Test(.enabled(if: enabled), arguments: echoCases) func echoedOutsideTextArrivesVisible(_ echo: EchoCase) throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        // A server for each run, as the script's replies are used in turn.
        let servers = try (0..<2).map { _ in try ScriptedServer(script: Self.serverScript(echo.script), home: harness.home) }
        defer { servers.forEach { $0.stop() } }
        let arguments = { (server: ScriptedServer) in
            ["--remote", server.url] + (echo.arguments.contains("-m") ? [] : ["-m", "scripted"]) + echo.arguments + ["-p", "go"]
        }
        let (screen, bytes, titles) = try Self.inTmux(harness: harness, arguments(servers[0]))
        #expect(titles.before == titles.after, "the title became \(titles.after)")
        #expect(screen.contains("BEFORE-MAGI"), "the screen was cleared:\n\(screen)")
        #expect(screen.contains(echo.shown), "\(echo.shown) not on screen:\n\(screen)")
        let written = String(decoding: bytes, as: UTF8.self)
        #expect(written.contains("AFTER-MAGI"))
        for sequence in Self.live + Self.reordering { #expect(!written.contains(sequence), "\(sequence.debugDescription) reached the terminal") }

        // On pipes the text is as it came: standard output for an answer, standard error for the rest.
        let piped = try MagiRun(arguments(servers[1]), harness: harness)
        let status = piped.wait()
        #expect(echo.fails ? status == 1 : status == 0, "exit \(status): \(piped.stderr)")
        #expect((piped.stdout + piped.stderr).contains(echo.raw), "\(piped.stdout.debugDescription) \(piped.stderr.debugDescription)")
        if echo.fails {
            #expect(piped.stderr.split(separator: "\n").count == 1, "\(piped.stderr.debugDescription)")
        }
    }

    /// `magi bench` names the model's file in its table: visible in a terminal, as it is on a pipe.
    @Test(.enabled(if: enabled && CommandLineTests.hasModel)) func benchShowsTheModelsFileNameVisibly() throws {
        let harness = try ChildHarness()
        defer { harness.remove() }
        let link = harness.home + "/bench" + Self.hostile + ".gguf"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CommandLineTests.magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        let arguments = ["bench", "-m", link, "-p", "0", "-n", "1", "-r", "1", "-t", "2"]
        let (screen, bytes, titles) = try Self.inTmux(harness: harness, arguments)
        #expect(titles.before == titles.after && screen.contains("BEFORE-MAGI"), "\(screen)")
        #expect(screen.contains("| bench" + Self.hostileShown + ".gguf |"), "\(screen)")
        let written = String(decoding: bytes, as: UTF8.self)
        for sequence in Self.live + Self.reordering { #expect(!written.contains(sequence), "\(sequence.debugDescription) reached the terminal") }
        let piped = try MagiRun(arguments, harness: harness)
        #expect(piped.wait() == 0 && piped.stdout.contains("| bench" + Self.hostile + ".gguf |"), "\(piped.stdout.debugDescription) \(piped.stderr)")
    }
}
