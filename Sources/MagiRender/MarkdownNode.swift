/// A block of a Markdown document, as cmark-gfm parsed it.
indirect enum MarkdownBlock: Equatable {
    case paragraph([MarkdownInline])
    case heading(level: Int, [MarkdownInline])
    case codeBlock(language: String, code: String)
    case html(String)
    case blockQuote([MarkdownBlock])
    case list(MarkdownList)
    case table(MarkdownTable)
    case thematicBreak
    /// A paragraph that holds only display math.
    case math(MathSpan)
}

/// Inline content of a paragraph, heading or table cell.
indirect enum MarkdownInline: Equatable {
    case text(String)
    case softBreak
    case lineBreak
    case code(String)
    case html(String)
    case emphasis([MarkdownInline])
    case strong([MarkdownInline])
    case strikethrough([MarkdownInline])
    case link(url: String, [MarkdownInline])
    case image(url: String, alt: [MarkdownInline])
    case math(MathSpan)
}

/// A bullet or ordered list.
struct MarkdownList: Equatable {
    var ordered: Bool
    var start: Int
    /// Tight lists have no blank lines between their items' blocks.
    var tight: Bool
    var items: [MarkdownListItem]
}

/// One list item; `checked` is set for task-list items (`- [ ]`, `- [x]`).
struct MarkdownListItem: Equatable {
    var checked: Bool?
    var blocks: [MarkdownBlock]
}

/// A GFM table: the header row first.
struct MarkdownTable: Equatable {
    enum Alignment: Equatable { case none, left, center, right }
    var alignments: [Alignment]
    var rows: [[[MarkdownInline]]]
}
