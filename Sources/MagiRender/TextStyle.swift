/// The look of a run of text: colours from the 256-colour palette and SGR attributes.
public struct TextStyle: Hashable, Sendable {
    /// Foreground colour index (xterm 256-colour palette), or the terminal's default.
    public var foreground: UInt8?
    /// Background colour index, or the terminal's default.
    public var background: UInt8?
    public var bold = false
    public var dim = false
    public var italic = false
    public var underline = false
    public var strikethrough = false

    /// The terminal's default look.
    public static let plain = TextStyle()

    public init(foreground: UInt8? = nil, background: UInt8? = nil, bold: Bool = false, dim: Bool = false,
                italic: Bool = false, underline: Bool = false, strikethrough: Bool = false) {
        self.foreground = foreground
        self.background = background
        self.bold = bold
        self.dim = dim
        self.italic = italic
        self.underline = underline
        self.strikethrough = strikethrough
    }

    /// This style with `inner` laid over it: inner colours win, attributes add up
    /// (bold text inside a link is bold and underlined).
    public func applying(_ inner: TextStyle) -> TextStyle {
        TextStyle(foreground: inner.foreground ?? foreground, background: inner.background ?? background,
                  bold: bold || inner.bold, dim: dim || inner.dim, italic: italic || inner.italic,
                  underline: underline || inner.underline, strikethrough: strikethrough || inner.strikethrough)
    }

    /// The SGR sequence that sets exactly this style from any other (it starts with a reset).
    var sgr: String {
        var parameters = ["0"]
        if bold { parameters.append("1") }
        if dim { parameters.append("2") }
        if italic { parameters.append("3") }
        if underline { parameters.append("4") }
        if strikethrough { parameters.append("9") }
        if let foreground { parameters.append("38;5;\(foreground)") }
        if let background { parameters.append("48;5;\(background)") }
        return "\u{1B}[" + parameters.joined(separator: ";") + "m"
    }
}
