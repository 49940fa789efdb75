import Foundation
import MagiChat
import Testing

/// Sessions on disk: names, round trips, listing, and refusing files this build cannot read.
@Suite struct SessionStoreTests {
    static func makeStore() throws -> SessionStore {
        let directory = NSTemporaryDirectory() + "magi-sessions-\(UUID().uuidString)/magi/sessions"
        return SessionStore(directory: directory)
    }

    static let sample = Conversation(messages: [
        .system("Be brief."), .user("Hi"),
        .assistant("Hello!", reasoning: "The user greets me."),
        .user("Weather?"), .assistant("", toolCalls: [ToolCall(id: "c1", name: "weather", arguments: "{\"city\":\"Paris\"}")]),
        .toolResult("sunny", callID: "c1", name: "weather"), .assistant("Sunny."),
    ])

    @Test func namesStayInsideTheDirectory() throws {
        for bad in ["", "../escape", "a/b", ".hidden", "x y", String(repeating: "a", count: 101), "..", "naïve"] {
            #expect(throws: SessionError.invalidName(bad)) { try SessionName(bad) }
        }
        for good in ["work", "2026-11-23-184621", "a.b_c-d", String(repeating: "z", count: 100)] {
            #expect(try SessionName(good).description == good)
        }
        #expect(try SessionName(SessionName.timestamp().description).description.count == 17)
    }

    @Test func savedSessionsLoadAsTheyWereAndListNewestFirst() throws {
        let store = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        #expect(try store.list().isEmpty)
        #expect(throws: SessionError.noSessions(store.directory)) { try store.mostRecent() }
        let session = SavedSession(conversation: Self.sample, model: "/models/a.gguf", savedAt: Date(timeIntervalSince1970: 1_800_000_000))
        try store.save(session, as: SessionName("first"))
        #expect(try store.load(SessionName("first")) == session)
        let permissions = try FileManager.default.attributesOfItem(atPath: store.path(of: SessionName("first")))[.posixPermissions] as? Int
        #expect(permissions == 0o600)

        try store.save(SavedSession(conversation: Conversation(messages: [.user("x")])), as: SessionName("second"))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)],
                                              ofItemAtPath: store.path(of: SessionName("first")))
        #expect(try store.list().map(\.name.description) == ["second", "first"])
        #expect(try store.mostRecent().description == "second")
        #expect(throws: SessionError.notFound("third")) { try store.load(SessionName("third")) }

        let date = Date()
        let first = store.unusedName(at: date)
        try store.save(SavedSession(conversation: Self.sample), as: first)
        #expect(store.unusedName(at: date).description == first.description + "-2")
    }

    @Test func aLeftoverTemporaryFileIsIgnored() throws {
        let store = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        try store.save(SavedSession(conversation: Self.sample), as: SessionName("kept"))
        // What a writer killed before its rename leaves behind.
        try Data("{\"format_version\": 1, \"conv".utf8).write(to: URL(fileURLWithPath: store.directory + "/.kept.json.tmp-AbC123"))
        #expect(try store.list().map(\.name.description) == ["kept"])
        #expect(try store.load(SessionName("kept")).conversation == Self.sample)

        // The next save of that session deletes leftovers older than a minute, and only those.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -120)],
                                              ofItemAtPath: store.directory + "/.kept.json.tmp-AbC123")
        try Data().write(to: URL(fileURLWithPath: store.directory + "/.kept.json.tmp-Fresh1"))
        try store.save(SavedSession(conversation: Self.sample), as: SessionName("kept"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted() == [".kept.json.tmp-Fresh1", "kept.json"])
    }

    @Test func corruptFilesAreReportedAndNeverOverwritten() throws {
        let store = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        try AtomicFile.createDirectory(store.directory)
        let name = try SessionName("broken")
        let garbage = Data("{\"format_version\": 1, \"conversation\": {\"messages\": [".utf8)
        try garbage.write(to: URL(fileURLWithPath: store.path(of: name)))
        #expect {
            try store.load(name)
        } throws: { error in
            guard case .corrupt("broken", let reason)? = error as? SessionError else { return false }
            return !reason.contains("\n") && (error as! SessionError).description.hasPrefix("session broken is unreadable")
        }
        #expect {
            try store.save(SavedSession(conversation: Self.sample), as: name)
        } throws: { error in
            guard case .refusingToOverwrite("broken", _)? = error as? SessionError else { return false }
            return true
        }
        #expect(FileManager.default.contents(atPath: store.path(of: name)) == garbage)

        let missingMessages = Data("{\"format_version\": 1, \"saved_at\": \"2026-01-01T00:00:00Z\", \"conversation\": {}}".utf8)
        try missingMessages.write(to: URL(fileURLWithPath: store.path(of: name)))
        #expect(throws: SessionError.corrupt("broken", reason: "missing \"messages\" at conversation")) { try store.load(name) }
    }

    @Test func filesOfALaterFormatVersionAreRefused() throws {
        let store = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        try AtomicFile.createDirectory(store.directory)
        let name = try SessionName("future")
        let future = Data("{\"format_version\": 99, \"layout\": \"something new\"}".utf8)
        try future.write(to: URL(fileURLWithPath: store.path(of: name)))
        #expect(throws: SessionError.unsupportedVersion("future", version: 99)) { try store.load(name) }
        #expect(throws: SessionError.refusingToOverwrite("future", reason: "it has format version 99")) {
            try store.save(SavedSession(conversation: Self.sample), as: name)
        }
        #expect(FileManager.default.contents(atPath: store.path(of: name)) == future)
        #expect(!SessionError.unsupportedVersion("future", version: 99).description.contains("\n"))
    }

    @Test func theStandardDirectoryFollowsXDG() {
        #expect(SessionStore.standard(environment: ["XDG_DATA_HOME": "/data"]).directory == "/data/magi/sessions")
        #expect(SessionStore.standard(environment: ["XDG_DATA_HOME": "relative"]).directory == NSHomeDirectory() + "/.local/share/magi/sessions")
    }

    @Test func atomicWritesReplaceWholeFilesAndReportFailures() throws {
        let store = try Self.makeStore()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        try AtomicFile.createDirectory(store.directory)
        let path = store.directory + "/file"
        try AtomicFile.write(Data("one".utf8), to: path)
        try AtomicFile.write(Data("two".utf8), to: path)
        #expect(FileManager.default.contents(atPath: path) == Data("two".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory) == ["file"])
        #expect(throws: SessionError.io(path: "/nonexistent-dir/x", operation: "create a temporary file for", code: ENOENT)) {
            try AtomicFile.write(Data(), to: "/nonexistent-dir/x")
        }
    }
}
