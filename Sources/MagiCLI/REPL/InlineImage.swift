import Foundation

/// Shows an image file the `python` tool saved: drawn inline on terminals that draw images (the
/// kitty graphics protocol for PNG, iTerm2's inline images, DEC sixel for PNG), and named on
/// standard error everywhere.
enum InlineImage {
    enum Kind: Equatable { case kitty, iTerm2, sixel }

    /// The largest sixel image drawn, in pixels; bigger ones are shrunk to fit.
    static let sixelSize = (width: 800, height: 600)

    /// The values `MAGI_IMAGES` takes.
    static let choices = ["kitty", "iterm", "iterm2", "sixel", "none"]

    /// The image protocol the terminal speaks: `MAGI_IMAGES` (`kitty`, `iterm`, `sixel` or `none`)
    /// when set to one of them, else judged from the environment; nil inside tmux or screen (which do not pass
    /// images on) and on other terminals. xterm draws sixel only when built and started for it,
    /// so it gets images only through `MAGI_IMAGES=sixel`.
    static func terminalProtocol(environment: [String: String]) -> Kind? {
        switch environment["MAGI_IMAGES"]?.lowercased() {
        case "kitty": return .kitty
        case "iterm", "iterm2": return .iTerm2
        case "sixel": return .sixel
        case "none": return nil
        default: break
        }
        let term = environment["TERM"] ?? ""
        if environment["TMUX"] != nil || term.hasPrefix("screen") { return nil }
        let program = environment["TERM_PROGRAM"] ?? ""
        if program == "iTerm.app" || program == "WezTerm" || environment["LC_TERMINAL"] == "iTerm2" { return .iTerm2 }
        if environment["KITTY_WINDOW_ID"] != nil || term == "xterm-kitty" || program == "ghostty" { return .kitty }
        if term.hasPrefix("foot") || term.hasPrefix("mlterm") || term.hasPrefix("yaft") || term == "contour" || program == "mlterm" {
            return .sixel
        }
        return nil
    }

    /// The escape sequences that draw `image` (the file's bytes) followed by a newline; nil when
    /// the protocol cannot draw it (kitty and sixel here take PNG only).
    static func sequence(for image: Data, protocol kind: Kind) -> String? {
        switch kind {
        case .iTerm2:
            return "\u{1B}]1337;File=inline=1;size=\(image.count);preserveAspectRatio=1:\(image.base64EncodedString())\u{07}\n"
        case .kitty:
            guard image.starts(with: [0x89, 0x50, 0x4E, 0x47]) else { return nil }
            // PNG (f=100), sent in chunks of 4096 base64 bytes; m=1 while more follow.
            var out = ""
            var rest = Substring(image.base64EncodedString())
            var first = true
            repeat {
                let chunk = rest.prefix(4096)
                rest = rest.dropFirst(chunk.count)
                out += "\u{1B}_G" + (first ? "a=T,f=100," : "") + "m=\(rest.isEmpty ? 0 : 1);" + chunk + "\u{1B}\\"
                first = false
            } while !rest.isEmpty
            return out + "\n"
        case .sixel:
            return RGBAImage(png: image).map { Sixel.sequence(for: $0.fitted(maxWidth: sixelSize.width, maxHeight: sixelSize.height)) }
        }
    }

    @Sendable static func show(path: String) {
        let environment = ProcessInfo.processInfo.environment
        if let choice = environment["MAGI_IMAGES"], !choices.contains(choice.lowercased()) {
            StandardError.write("magi: MAGI_IMAGES is '\(choice)', not kitty, iterm, sixel or none; judging from the terminal\n")
        }
        if isatty(STDOUT_FILENO) == 1, let kind = terminalProtocol(environment: environment),
           let image = FileManager.default.contents(atPath: path), let drawing = sequence(for: image, protocol: kind) {
            StandardOutput.writeFormatted(drawing)  // magi's own sequence: base64 or sixel data only
        }
        StandardError.write("magi: image saved as \(path)\n")
    }
}
