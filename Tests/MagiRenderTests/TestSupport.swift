import Foundation
@testable import MagiRender

/// Where the render tests find generated fixtures, and small helpers shared by the suites.
enum RenderTestSupport {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var fixtures: String { ProcessInfo.processInfo.environment["MAGI_FIXTURES"] ?? repository + "/.build/fixtures" }
    /// In CI every test runs, so a missing fixture fails instead of skipping.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    /// Plain (no escape codes) rendering at a width.
    static func plain(_ markdown: String, width: Int = 40) -> String {
        MarkdownRenderer(options: RenderOptions(width: width, colors: false)).render(markdown)
    }
}
