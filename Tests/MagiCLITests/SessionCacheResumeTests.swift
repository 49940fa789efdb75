import Foundation
import Testing

/// The KV cache saved beside a session, through the real `magi`: a resumed session prefills none of
/// the saved tokens and answers greedily as the uninterrupted run does; a save killed at its
/// middle (append or rewrite) leaves a cache that loads.
@Suite(.serialized) struct SessionCacheResumeTests {
    let cli = CommandLineTests()

    /// The answers of `--json` output, one per turn.
    static func answers(_ stdout: String) throws -> [String] {
        var turns: [String] = [], current = ""
        for event in try ScriptModeTests.events(stdout) {
            switch event["type"] as? String {
            case "answer": current += event["text"] as? String ?? ""
            case "end": turns.append(current); current = ""
            default: break
            }
        }
        return turns
    }

    /// N of "N tokens cached" in magi's resume line.
    static func cachedTokens(_ stderr: String) -> Int? {
        guard let range = stderr.range(of: " tokens cached") else { return nil }
        return Int(String(stderr[..<range.lowerBound].reversed().prefix { $0.isNumber }.reversed()))
    }

    static func promptTokens(_ stdout: String) throws -> [Int] {
        try ScriptModeTests.events(stdout).filter { $0["type"] as? String == "usage" }.compactMap { $0["prompt_tokens"] as? Int }
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func resumedSessionPrefillsNothingSavedAndAnswersAsTheUninterruptedRun() throws {
        let (home, environment) = try ScriptModeTests.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let flags = ["--temp", "0", "-n", "32", "--json"]
        let question = "Tell me about the history of the lighthouse at Alexandria, in detail."
        let follow = "And who built it?"
        let whole = try cli.magi(flags + ["--script", try ScriptModeTests.write("\(question)\n\(follow)\n", in: home, name: "whole.magi")],
                                 environment: environment)
        #expect(whole.status == 0, "\(whole.stderr)")
        let uninterrupted = try Self.answers(whole.stdout)
        #expect(uninterrupted.count == 2)

        let saved = try cli.magi(flags + ["--script", try ScriptModeTests.write("\(question)\n/save trip\n", in: home)], environment: environment)
        #expect(saved.status == 0, "\(saved.stderr)")
        let resumed = try cli.magi(flags + ["-v", "--resume", "trip", "-p", follow], environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let cached = try #require(Self.cachedTokens(resumed.stderr))
        #expect(cached > 60, "\(resumed.stderr)")
        // Only the follow-up's own tokens (and the template's around them) are prefilled.
        let prefilled = try #require(try Self.promptTokens(resumed.stdout).first)
        #expect(prefilled < 30, "prefilled \(prefilled) of \(cached) + the follow-up")
        #expect(try Self.answers(resumed.stdout) == [uninterrupted[1]])

        // A cache whose model fingerprint differs is ignored with a notice; the turn prefills instead.
        let kv = home + "/data/magi/sessions/trip.kv"
        var foreign = try Data(contentsOf: URL(fileURLWithPath: kv))
        foreign[8] ^= 0xFF
        try foreign.write(to: URL(fileURLWithPath: kv))
        let refused = try cli.magi(["--temp", "0", "-n", "4", "--json", "--resume", "trip", "-p", "Thanks."], environment: environment)
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(refused.stderr.contains("magi: the saved KV cache is ignored: the session snapshot was made with another model\n"), "\(refused.stderr)")
        #expect(try #require(try Self.promptTokens(refused.stdout).first) > Int(cached))
    }

    /// Starts a `--script` run of magi with the save pause hook and kills it when a save is halfway.
    func killMidSave(_ script: String, home: String, environment: [String: String]) throws {
        let magi = try PseudoTerminal(executable: CommandLineTests.executable,
                                      arguments: ["--temp", "0", "-n", "16", "--resume", "trip", "--script", script],
                                      environment: REPLTerminalTests.environment(home: home).merging(environment) { $1 }
                                          .merging(["MAGI_TEST_SNAPSHOT_PAUSE": "60"]) { $1 })
        _ = try magi.expect("test pause in a snapshot save", timeout: 120)
        kill(magi.pid, SIGKILL)
        #expect(try magi.waitForExit() == 128 + SIGKILL)
    }

    /// A new home holding the session `trip` of one exchange, saved with its KV cache: the home,
    /// the environment pointing at it, the cache file's path and its bytes.
    func savedTrip() throws -> (home: String, environment: [String: String], kv: String, original: Data) {
        let (home, environment) = try ScriptModeTests.environment()
        let saved = try cli.magi(["--temp", "0", "-n", "16", "--script", try ScriptModeTests.write("What is the capital of France?\n/save trip\n", in: home)],
                                 environment: environment)
        #expect(saved.status == 0, "\(saved.stderr)")
        let kv = home + "/data/magi/sessions/trip.kv"
        return (home, environment, kv, try Data(contentsOf: URL(fileURLWithPath: kv)))
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aCacheSaveKilledMidWriteLeavesACacheThatLoads() throws {
        let (home, environment, kv, original) = try savedTrip()
        defer { try? FileManager.default.removeItem(atPath: home) }

        // Killed while appending the second turn: the file holds the old chunk and a torn tail.
        try killMidSave(try ScriptModeTests.write("And of Italy?\n", in: home, name: "append.magi"), home: home, environment: environment)
        let torn = try Data(contentsOf: URL(fileURLWithPath: kv))
        #expect(torn.count > original.count && torn.prefix(original.count) == original)
        let after = try cli.magi(["--temp", "0", "-n", "8", "-v", "--resume", "trip", "-p", "Thanks."], environment: environment)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stderr.contains("the saved KV cache has a damaged end (\(torn.count - original.count) bytes ignored)"), "\(after.stderr)")
        let restored = try #require(Self.cachedTokens(after.stderr))
        #expect(restored > 20)
        // That run's autosave cut the torn tail and appended: the next resume loads it whole.
        let whole = try cli.magi(["--temp", "0", "-n", "8", "--resume", "trip", "-p", "Bye."], environment: environment)
        #expect(whole.status == 0 && !whole.stderr.contains("KV cache"), "\(whole.stderr)")
        #expect(try #require(Self.cachedTokens(whole.stderr)) > restored)

        // Killed while rewriting (an undone exchange diverges from the file): the old file is intact.
        let beforeRewrite = try Data(contentsOf: URL(fileURLWithPath: kv))
        try killMidSave(try ScriptModeTests.write("/undo\n/undo\nAnd of Spain?\n", in: home, name: "rewrite.magi"), home: home, environment: environment)
        let afterKill = try Data(contentsOf: URL(fileURLWithPath: kv))
        #expect(afterKill == beforeRewrite, "the rewrite goes to a temporary file, renamed only when whole")
        let last = try cli.magi(["--temp", "0", "-n", "8", "--resume", "trip", "-p", "Bye."], environment: environment)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(last.stderr.contains("tokens cached"), "\(last.stderr)")
    }

    /// A cache save that runs out of room (here the file size limit, as a full disk would) reports
    /// one line, leaves the saved cache as it was, and the session goes on.
    @Test(.enabled(if: CommandLineTests.hasModel)) func aSaveWithoutRoomReportsAndChangesNothing() throws {
        let (home, environment, kv, original) = try savedTrip()
        defer { try? FileManager.default.removeItem(atPath: home) }
        // Room for the conversation file, not for another chunk of the cache (bash's ulimit counts KiB).
        let limit = original.count / 1024 + 2
        let command = "trap '' XFSZ; ulimit -f \(limit); exec \"$0\" --temp 0 -n 16 --resume trip"
        let repl = try PseudoTerminal(executable: "/bin/bash", arguments: ["-c", command, CommandLineTests.executable],
                                      environment: REPLTerminalTests.environment(home: home).merging(environment) { $1 })
        try repl.expect(REPLTerminalTests.prompt)
        for question in ["And of Italy?", "And of Spain?"] {
            repl.send(question + "\r")
            try repl.expect("autosave: cannot write " + kv + ": File too large", timeout: 120)
            try repl.expect(REPLTerminalTests.prompt)
        }
        repl.send(REPLTerminalTests.ctrlD)
        #expect(try repl.waitForExit() == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: kv)) == original)
        let answers = try cli.magi(["--resume", "trip", "--temp", "0", "-n", "4", "-p", "Bye."], environment: environment)
        #expect(answers.status == 0 && !answers.stderr.contains("KV cache"), "\(answers.stderr)")
    }
}
