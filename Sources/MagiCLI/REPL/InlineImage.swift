import Foundation

/// Shows an image file the `python` tool saved: drawn inline on terminals that draw images (the
/// kitty graphics protocol for PNG, iTerm2's inline images), and named on standard error everywhere.
enum InlineImage {
    enum Kind: Equatable { case kitty, iTerm2 }

    /// The image protocol the terminal speaks, judged from the environment; nil inside tmux or
    /// screen (which do not pass images on) and on other terminals.
    static func terminalProtocol(environment: [String: String]) -> Kind? {
        if environment["TMUX"] != nil || environment["TERM"]?.hasPrefix("screen") == true { return nil }
        let program = environment["TERM_PROGRAM"] ?? ""
        if program == "iTerm.app" || program == "WezTerm" || environment["LC_TERMINAL"] == "iTerm2" { return .iTerm2 }
        if environment["KITTY_WINDOW_ID"] != nil || environment["TERM"] == "xterm-kitty" || program == "ghostty" { return .kitty }
        return nil
    }

    /// The escape sequences that draw `image` (the file's bytes) followed by a newline.
    static func sequence(for image: Data, protocol kind: Kind) -> String {
        let base64 = image.base64EncodedString()
        switch kind {
        case .iTerm2:
            return "\u{1B}]1337;File=inline=1;size=\(image.count);preserveAspectRatio=1:\(base64)\u{07}\n"
        case .kitty:
            // PNG (f=100), sent in chunks of 4096 base64 bytes; m=1 while more follow.
            var out = ""
            var rest = Substring(base64)
            var first = true
            repeat {
                let chunk = rest.prefix(4096)
                rest = rest.dropFirst(chunk.count)
                out += "\u{1B}_G" + (first ? "a=T,f=100," : "") + "m=\(rest.isEmpty ? 0 : 1);" + chunk + "\u{1B}\\"
                first = false
            } while !rest.isEmpty
            return out + "\n"
        }
    }

    @Sendable static func show(path: String) {
        let environment = ProcessInfo.processInfo.environment
        if isatty(STDOUT_FILENO) == 1, let kind = terminalProtocol(environment: environment),
           let image = FileManager.default.contents(atPath: path),
           kind == .iTerm2 || image.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            StandardOutput.write(sequence(for: image, protocol: kind))
        }
        StandardError.write("magi: image saved as \(path)\n")
    }
}
