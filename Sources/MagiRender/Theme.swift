/// The styles of every Markdown element, math and code token; `dark` suits a dark terminal
/// background, `light` a light one.
public struct Theme: Sendable {
    public var heading1: TextStyle
    public var heading: TextStyle
    public var headingMarker: TextStyle
    public var emphasis: TextStyle
    public var strong: TextStyle
    public var strikethrough: TextStyle
    public var inlineCode: TextStyle
    public var codeBorder: TextStyle
    public var codeLabel: TextStyle
    public var link: TextStyle
    public var linkURL: TextStyle
    public var image: TextStyle
    public var quote: TextStyle
    public var quoteBar: TextStyle
    public var listMarker: TextStyle
    public var taskDone: TextStyle
    public var tableBorder: TextStyle
    public var tableHeader: TextStyle
    public var rule: TextStyle
    public var html: TextStyle
    public var math: TextStyle
    public var boxed: TextStyle
    public var keyword: TextStyle
    public var string: TextStyle
    public var comment: TextStyle
    public var number: TextStyle
    public var typeName: TextStyle

    /// For light text on a dark background.
    public static let dark = Theme(
        heading1: TextStyle(foreground: 81, bold: true), heading: TextStyle(foreground: 117, bold: true),
        headingMarker: TextStyle(foreground: 60), emphasis: TextStyle(italic: true), strong: TextStyle(bold: true),
        strikethrough: TextStyle(strikethrough: true), inlineCode: TextStyle(foreground: 215, background: 236),
        codeBorder: TextStyle(foreground: 240), codeLabel: TextStyle(foreground: 246, italic: true),
        link: TextStyle(foreground: 75, underline: true), linkURL: TextStyle(foreground: 244),
        image: TextStyle(foreground: 141), quote: TextStyle(foreground: 250, italic: true),
        quoteBar: TextStyle(foreground: 242), listMarker: TextStyle(foreground: 110), taskDone: TextStyle(foreground: 114),
        tableBorder: TextStyle(foreground: 242), tableHeader: TextStyle(foreground: 153, bold: true),
        rule: TextStyle(foreground: 240), html: TextStyle(foreground: 244), math: TextStyle(foreground: 222),
        boxed: TextStyle(foreground: 16, background: 222, bold: true),
        keyword: TextStyle(foreground: 176), string: TextStyle(foreground: 150), comment: TextStyle(foreground: 245, italic: true),
        number: TextStyle(foreground: 216), typeName: TextStyle(foreground: 116))

    /// For dark text on a light background.
    public static let light = Theme(
        heading1: TextStyle(foreground: 25, bold: true), heading: TextStyle(foreground: 31, bold: true),
        headingMarker: TextStyle(foreground: 103), emphasis: TextStyle(italic: true), strong: TextStyle(bold: true),
        strikethrough: TextStyle(strikethrough: true), inlineCode: TextStyle(foreground: 124, background: 254),
        codeBorder: TextStyle(foreground: 249), codeLabel: TextStyle(foreground: 243, italic: true),
        link: TextStyle(foreground: 26, underline: true), linkURL: TextStyle(foreground: 244),
        image: TextStyle(foreground: 91), quote: TextStyle(foreground: 239, italic: true),
        quoteBar: TextStyle(foreground: 248), listMarker: TextStyle(foreground: 31), taskDone: TextStyle(foreground: 28),
        tableBorder: TextStyle(foreground: 248), tableHeader: TextStyle(foreground: 24, bold: true),
        rule: TextStyle(foreground: 250), html: TextStyle(foreground: 244), math: TextStyle(foreground: 94),
        boxed: TextStyle(foreground: 231, background: 94, bold: true),
        keyword: TextStyle(foreground: 90), string: TextStyle(foreground: 28), comment: TextStyle(foreground: 244, italic: true),
        number: TextStyle(foreground: 130), typeName: TextStyle(foreground: 30))

    /// A theme by name: `dark` or `light`.
    public static func named(_ name: String) -> Theme? {
        switch name {
        case "dark": return .dark
        case "light": return .light
        default: return nil
        }
    }
}
