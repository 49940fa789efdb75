import ArgumentParser
import Foundation
import MagiRender

extension ColorMode: ExpressibleByArgument {}

/// How answers are drawn: `--color` and `--theme`, shared by the chat and `magi render`; without
/// them, config.toml's `[display]` (``MagiConfig``).
struct DisplayOptions: ParsableArguments {
    @Option(name: .customLong("color"), help: "Colours, Markdown layout and hyperlinks: auto (on a terminal, unless NO_COLOR is set), always or never (default: config.toml's display.color, else auto).")
    var colorFlag: ColorMode?
    @Option(name: .customLong("theme"), help: "Colours for a dark or a light background: dark or light (default: config.toml's display.theme, else dark).")
    var themeFlag: String?

    func validate() throws {
        if let themeFlag, Theme.named(themeFlag) == nil { throw ValidationError("--theme must be dark or light, not \(themeFlag)") }
    }

    /// Whether the flags leave something open that the configuration file settles.
    var readsConfiguration: Bool { colorFlag == nil || themeFlag == nil }

    /// The colour mode and theme given, each with its source: its flag, else config.toml.
    var settings: MagiConfig.DisplaySettings {
        var s = MagiConfig.currentOrEmpty.display
        s.color = s.color.overridden(by: colorFlag, named: "--color")
        s.theme = s.theme.overridden(by: themeFlag, named: "--theme")
        return s
    }

    var color: ColorMode { settings.color?.value ?? .auto }
    var theme: String { settings.theme?.value ?? "dark" }

    /// Makes these the choices of every answer display and terminal style in this process.
    func adopt() {
        Display.color = color
        Display.theme = Theme.named(theme) ?? .dark
    }
}

/// The display choices of this process, set once at start-up from ``DisplayOptions``.
enum Display {
    // Unsafe but sound: written once by the command's `run()` before it starts any task or
    // thread, only read afterwards.
    nonisolated(unsafe) static var color: ColorMode = .auto
    nonisolated(unsafe) static var theme: Theme = .dark
}
