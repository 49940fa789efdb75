import Foundation

/// Where the chat tests find the default model, the generated fixtures and the committed ones.
enum TestEnvironment {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var magiHome: String { ProcessInfo.processInfo.environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi" }
    static var modelPath: String { magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var fixtures: String { ProcessInfo.processInfo.environment["MAGI_FIXTURES"] ?? repository + "/.build/fixtures" }
    /// Fixtures committed with the tests (small, made by scripts/gen-mistral-chat-reference.py).
    static var committedFixtures: String { repository + "/Tests/MagiChatTests/Fixtures" }

    /// In CI every test runs, so a missing model or fixture fails instead of skipping.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    static var hasModel: Bool { isCI || FileManager.default.fileExists(atPath: modelPath) }
    static func hasFixture(_ name: String) -> Bool { isCI || FileManager.default.fileExists(atPath: fixtures + "/" + name) }

    /// mistral-common's tekken_240911.json: `MAGI_TEKKEN_JSON`, else `$MAGI_FIXTURES/tekken.json`
    /// (scripts/gen-test-fixtures links it from the oracle venv).
    static var tekkenPath: String {
        ProcessInfo.processInfo.environment["MAGI_TEKKEN_JSON"] ?? fixtures + "/tekken.json"
    }
    static var hasTekken: Bool { isCI || FileManager.default.fileExists(atPath: tekkenPath) }
}
