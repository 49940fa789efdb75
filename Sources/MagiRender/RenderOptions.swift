/// How Markdown is laid out and drawn.
public struct RenderOptions: Sendable {
    /// The terminal width in cells; text wraps to it.
    public var width: Int
    /// Whether output may contain escape codes (colours, styles, hyperlinks). Without them the
    /// layout is the same, with link URLs written out after the link text.
    public var colors: Bool
    /// Whether links become OSC 8 hyperlinks (only with `colors`); otherwise their URL is written out.
    public var hyperlinks: Bool
    public var theme: Theme

    public init(width: Int = 80, colors: Bool = true, hyperlinks: Bool = true, theme: Theme = .dark) {
        self.width = max(8, width)
        self.colors = colors
        self.hyperlinks = hyperlinks
        self.theme = theme
    }

    /// Whether a link's URL must be written out because the terminal will not get a hyperlink.
    var writesURLs: Bool { !(colors && hyperlinks) }
}
