/// A piece of text in one style, possibly the visible part of a hyperlink.
///
/// Runs are where text from outside enters the drawn output, so they hold it terminal-safe: control
/// characters written out (``TerminalText/visible(_:)``), and control characters in a link's URL
/// percent-encoded, so neither can end magi's escape sequence and start one of its own.
struct StyledRun: Equatable {
    private(set) var text: String
    var style: TextStyle
    /// The URL this text links to (drawn as an OSC 8 hyperlink when the terminal gets escapes).
    let link: String?

    init(_ text: String, _ style: TextStyle = .plain, link: String? = nil) {
        self.text = TerminalText.visible(text)
        self.style = style
        self.link = link.map(Self.percentEncodingControls)
    }

    /// Adds `more` to the text.
    mutating func append(_ more: String) { text += TerminalText.visible(more) }

    private static func percentEncodingControls(_ url: String) -> String {
        guard url.unicodeScalars.contains(where: TerminalText.needsEscaping) else { return url }
        var out = ""
        for scalar in url.unicodeScalars {
            guard TerminalText.needsEscaping(scalar) else { out.unicodeScalars.append(scalar); continue }
            for byte in String(scalar).utf8 { out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) }
        }
        return out
    }
}

/// One line of terminal output as styled runs; it never contains a newline.
struct StyledLine: Equatable {
    var runs: [StyledRun] = []

    init(_ runs: [StyledRun] = []) { self.runs = runs }
    init(_ text: String, _ style: TextStyle = .plain) { self.runs = text.isEmpty ? [] : [StyledRun(text, style)] }

    /// The cells the line takes.
    var width: Int { runs.reduce(0) { $0 + DisplayWidth.of($1.text) } }
    /// The text without styles.
    var plainText: String { runs.map(\.text).joined() }

    mutating func append(_ text: String, _ style: TextStyle = .plain, link: String? = nil) {
        guard !text.isEmpty else { return }
        if let last = runs.last, last.style == style, last.link == link {
            runs[runs.count - 1].append(text)
        } else {
            runs.append(StyledRun(text, style, link: link))
        }
    }

    mutating func append(_ line: StyledLine) {
        for run in line.runs { append(run.text, run.style, link: run.link) }
    }

    /// This line after `prefix`.
    func prefixed(by prefix: StyledLine) -> StyledLine {
        var out = prefix
        out.append(self)
        return out
    }

    /// The line as terminal text: with SGR styles and OSC 8 links when `escapes` is on, else plain.
    func encoded(escapes: Bool) -> String {
        guard escapes else { return plainText }
        var out = ""
        var styled = false
        var openLink: String?
        for run in runs {
            if run.link != openLink {
                out += "\u{1B}]8;;\(run.link ?? "")\u{1B}\\"
                openLink = run.link
            }
            if run.style != .plain {
                out += run.style.sgr
                styled = true
            } else if styled {
                out += "\u{1B}[0m"
                styled = false
            }
            out += run.text
        }
        if openLink != nil { out += "\u{1B}]8;;\u{1B}\\" }
        if styled { out += "\u{1B}[0m" }
        return out
    }
}
