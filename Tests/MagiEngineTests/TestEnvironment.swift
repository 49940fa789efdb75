import Foundation

/// Where the tests find the default model and the generated reference fixtures.
enum TestEnvironment {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var magiHome: String {
        ProcessInfo.processInfo.environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi"
    }

    static var modelPath: String { magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }

    static var fixtures: String {
        ProcessInfo.processInfo.environment["MAGI_FIXTURES"] ?? repository + "/.build/fixtures"
    }

    /// In CI every test runs, so a missing model or fixture fails instead of skipping.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    static var hasModel: Bool { isCI || FileManager.default.fileExists(atPath: modelPath) }

    static func hasFixture(_ name: String) -> Bool {
        isCI || FileManager.default.fileExists(atPath: fixtures + "/" + name)
    }
}
