import Foundation
import MagiChat
import Testing
@testable import MagiCLI

/// Sessions through the real `magi` on a pseudo-terminal: autosave after every turn, `--continue`,
/// `--resume`, `/save`, `/load`, `/sessions`, refusing unreadable files, and a save killed mid-write.
@Suite(.serialized) struct SessionREPLTests {
    static let prompt = REPLTerminalTests.prompt

    static func store(home: String) -> SessionStore { SessionStore(directory: home + "/data/magi/sessions") }

    func startMagi(home: String, _ arguments: [String] = [], waitForPrompt: Bool = true) throws -> PseudoTerminal {
        let terminal = try PseudoTerminal(executable: CommandLineTests.executable, arguments: ["--temp", "0", "-n", "24"] + arguments,
                                          environment: REPLTerminalTests.environment(home: home))
        if waitForPrompt { try terminal.expect(Self.prompt) }
        return terminal
    }

    func leave(_ terminal: PseudoTerminal) throws {
        terminal.send(REPLTerminalTests.ctrlD)
        #expect(try terminal.waitForExit() == 0)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func everyTurnIsAutosavedAndContinueResumesTheLatest() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let first = try startMagi(home: home, ["--system", "Be brief."])
        first.send("What is the capital of France?\r")
        try first.expect("France?")
        try first.expect(Self.prompt)
        // Killed without a chance to save on the way out: the autosave already has the turn.
        kill(first.pid, SIGKILL)
        _ = try first.waitForExit()
        let store = Self.store(home: home)
        let saved = try store.load(store.mostRecent())
        #expect(saved.conversation.messages.map(\.role) == [.system, .user, .assistant])
        #expect(saved.conversation.messages[1].content == "What is the capital of France?")
        #expect(saved.formatVersion == SavedSession.currentFormatVersion)

        let second = try PseudoTerminal(executable: CommandLineTests.executable, arguments: ["--temp", "0", "-n", "24", "--continue"],
                                        environment: REPLTerminalTests.environment(home: home))
        try second.expect("resuming session \(try store.mostRecent()) (1 exchanges, ")
        try second.expect(Self.prompt)
        second.send("/save work\r")
        try second.expect("saved 1 exchanges as work")
        second.send("/sessions\r")
        try second.expect("* work")
        second.send("And of Italy?\r")
        try second.expect("Italy?")
        try second.expect(Self.prompt)
        try leave(second)
        let work = try store.load(SessionName("work"))
        #expect(work.conversation.messages.map(\.content).prefix(4) == ["Be brief.", "What is the capital of France?",
                                                                      saved.conversation.messages[2].content, "And of Italy?"])

        let third = try startMagi(home: home)
        third.send("/load work\r")
        try third.expect("loaded 2 exchanges from work")
        third.send("/load ../work\r")
        try third.expect("invalid session name '../work'")
        third.send("/load nothing\r")
        try third.expect("no session named nothing")
        third.send("/clear\r")
        try third.expect("conversation cleared; later turns autosave to the new session ")
        try leave(third)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func unreadableSessionsAreReportedAndLeftAlone() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let store = Self.store(home: home)
        try AtomicFile.createDirectory(store.directory)
        let future = Data("{\"format_version\": 7, \"conversation\": \"elsewhere\"}".utf8)
        try future.write(to: URL(fileURLWithPath: store.path(of: SessionName("future"))))

        let refused = try startMagi(home: home, ["--resume", "future"], waitForPrompt: false)
        try refused.expect("session future has format version 7, newer than this magi reads (1); update magi")
        #expect(try refused.waitForExit() == 1)

        let magi = try startMagi(home: home)
        magi.send("/save future\r")
        try magi.expect("not overwriting session future: it has format version 7")
        try leave(magi)
        #expect(FileManager.default.contents(atPath: store.path(of: try SessionName("future"))) == future)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aSessionSavedWithAnotherModelIsRenderedInThisOnesFormat() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let store = Self.store(home: home)
        let conversation = Conversation(messages: [.system("Be brief."), .user("Hi"), .assistant("Hello! [INST] is just text."), ])
        try store.save(SavedSession(conversation: conversation, model: "/models/Magistral-Small-2509-Q4_K_M.gguf"), as: SessionName("mistral"))
        let magi = try startMagi(home: home, ["--resume", "mistral", "-v"], waitForPrompt: false)
        try magi.expect("saved with Magistral-Small-2509-Q4_K_M.gguf and rendered in this model's format")
        try magi.expect(Self.prompt)
        magi.send("/context\r")
        try magi.expect("turn 1: Hi")
        try magi.expect("free")
        try leave(magi)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func theVerboseStatusShowsOnlyTheNewTokensPrefilled() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home, ["-v", "--system", String(repeating: "You are a careful, helpful assistant. ", count: 20)])
        var prefilled: [Int] = []
        for question in ["What is the capital of France?", "And of Italy?"] {
            magi.send(question + "\r")
            try magi.expect("prompt: ")
            prefilled.append(Int(try magi.expect(" new tokens")) ?? -1)
            try magi.expect(Self.prompt)
        }
        #expect(prefilled[0] > 150)
        #expect(prefilled[1] > 0 && prefilled[1] < 30)
        try leave(magi)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func compactReplacesOlderExchangesByASummary() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let magi = try startMagi(home: home, ["--system", "Be brief."])
        magi.send("/compact\r")
        try magi.expect("nothing to compact: fewer than two exchanges")
        for question in ["My name is Ada and I like chess.", "What is the capital of France?", "And of Spain?"] {
            magi.send(question + "\r")
            try magi.expect(String(question.suffix(8)))
            try magi.expect(Self.prompt)
        }
        magi.send("/compact\r")
        try magi.expect("2 exchanges replaced by the summary above")
        magi.send("/context\r")
        try magi.expect("turn 2: And of Spain?")
        try leave(magi)
        let store = Self.store(home: home)
        let saved = try store.load(store.mostRecent()).conversation.messages
        #expect(saved.map(\.role) == [.system, .user, .assistant, .user, .assistant])
        #expect(saved[1].content == REPLConversation.summaryRequest && saved[3].content == "And of Spain?")
    }

    /// A session of about 40 MB, so that writing it takes long enough to be killed in the middle.
    static func bigConversation(system: String) -> Conversation {
        let paragraph = String(repeating: "All work and no play makes Jack a dull boy. ", count: 40_000)
        return Conversation(messages: [.system(system)] + (0..<20).flatMap { i in [ChatMessage.user("Q\(i)"), .assistant("\(i) " + paragraph)] })
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aSaveKilledMidWriteLeavesThePreviousVersion() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let store = Self.store(home: home)
        let name = try SessionName("big")
        let before = Self.bigConversation(system: "Old system."), after = Self.bigConversation(system: "New system.")
        try store.save(SavedSession(conversation: before), as: name)

        let magi = try startMagi(home: home, ["--resume", "big"])
        magi.send("/system New system.\r")
        try magi.expect("system message set")
        magi.send("/save big\r")
        // Kill as soon as the temporary file holds some bytes: the writer is in the middle of its write.
        var sawTemporary = false
        let deadline = Date().addingTimeInterval(60)
        while !sawTemporary && Date() < deadline {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: store.directory)) ?? []
            sawTemporary = files.contains { file in
                file.hasPrefix(".big.json.tmp-")
                    && ((try? FileManager.default.attributesOfItem(atPath: store.directory + "/" + file)[.size] as? Int) ?? 0) > 0
            }
            if !sawTemporary { usleep(100) }
        }
        kill(magi.pid, SIGKILL)
        #expect(try magi.waitForExit() == 128 + SIGKILL)
        // On a busy machine the write may be over before a poll sees it: the file must be whole either way.
        if !sawTemporary { print("the save was over before the kill: checked the finished file") }
        let survivor = try store.load(name).conversation
        #expect(survivor == before || survivor == after)
        #expect(try store.list().map(\.name) == [name])
    }
}
