import ArgumentParser
import Foundation
import MagiRender

extension ColorMode: ExpressibleByArgument {}

/// How answers are drawn: `--color` and `--theme`, shared by the chat and `magi render`.
struct DisplayOptions: ParsableArguments {
    @Option(name: .long, help: "Colours, Markdown layout and hyperlinks: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorMode = .auto
    @Option(name: .long, help: "Colours for a dark or a light background: dark or light.")
    var theme: String = "dark"

    func validate() throws {
        if Theme.named(theme) == nil { throw ValidationError("--theme must be dark or light, not \(theme)") }
    }

    /// Makes these the choices of every answer display and terminal style in this process.
    func adopt() {
        Display.color = color
        Display.theme = Theme.named(theme) ?? .dark
    }
}

/// The display choices of this process, set once at start-up from ``DisplayOptions``.
enum Display {
    nonisolated(unsafe) static var color: ColorMode = .auto
    nonisolated(unsafe) static var theme: Theme = .dark

    /// Whether standard output gets colour and escape codes.
    static var colorsStandardOutput: Bool {
        color.allowsColor(fileDescriptor: STDOUT_FILENO, environment: ProcessInfo.processInfo.environment)
    }
}
