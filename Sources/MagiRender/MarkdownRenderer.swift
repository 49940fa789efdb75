/// Renders Markdown (CommonMark with GitHub's tables, strikethrough, autolinks and task lists,
/// plus TeX math) for a terminal: styled with a ``Theme`` and wrapped to a width, or laid out
/// the same way without any escape code when colours are off.
public struct MarkdownRenderer: Sendable {
    public let options: RenderOptions

    public init(options: RenderOptions) { self.options = options }

    /// The whole document as terminal text, each line ending in a newline.
    public func render(_ markdown: String) -> String {
        lines(of: markdown).map { $0.encoded(escapes: options.colors) + "\n" }.joined()
    }

    /// The document's lines: its top-level blocks with a blank line between each two.
    func lines(of markdown: String) -> [StyledLine] {
        let blocks = MarkdownParser.parse(Self.normalizingNewlines(markdown)).blocks
        var out: [StyledLine] = []
        for (index, block) in blocks.enumerated() {
            if index > 0 { out.append(StyledLine()) }
            out += lines(for: block.block)
        }
        return out
    }

    /// The lines of one top-level block.
    func lines(for block: MarkdownBlock) -> [StyledLine] {
        lines(for: block, width: options.width, depth: 0)
    }

    static func normalizingNewlines(_ text: String) -> String {
        guard text.unicodeScalars.contains("\r") else { return text }
        var out = ""
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                out.append("\n")
            } else if !(scalar == "\n" && previousWasCR) {
                out.unicodeScalars.append(scalar)
            }
            previousWasCR = scalar == "\r"
        }
        return out
    }

    private var theme: Theme { options.theme }
    private var styler: InlineStyler { InlineStyler(options: options) }

    private func lines(for block: MarkdownBlock, width: Int, depth: Int) -> [StyledLine] {
        switch block {
        case .paragraph(let content):
            return TextWrapper(width: width).wrap(styler.runs(content))
        case .heading(let level, let content):
            return heading(level: level, content: content, width: width)
        case .codeBlock(let language, let code):
            return codeBlock(language: language, code: code, width: width)
        case .html(let html):
            var text = html
            while text.hasSuffix("\n") { text.removeLast() }
            return TextWrapper(width: width).wrap([StyledRun(text, theme.html)])
        case .blockQuote(let blocks):
            let bar = StyledLine("│ ", theme.quoteBar)
            return stack(blocks, width: width - 2, depth: depth, loose: true).map { line in
                line.runs.isEmpty ? StyledLine("│", theme.quoteBar) : StyledLine(line.runs.map { StyledRun($0.text, theme.quote.applying($0.style), link: $0.link) }).prefixed(by: bar)
            }
        case .list(let list):
            return self.list(list, width: width, depth: depth)
        case .table(let table):
            return TableLayout(table: table, styler: styler).lines(width: width)
        case .thematicBreak:
            return [StyledLine(String(repeating: "─", count: width), theme.rule)]
        case .math(let span):
            return displayMath(MathText(latex: span.latex), width: width)
        }
    }

    /// Blocks one under the other; a blank line between them when `loose`.
    private func stack(_ blocks: [MarkdownBlock], width: Int, depth: Int, loose: Bool) -> [StyledLine] {
        var out: [StyledLine] = []
        for (index, block) in blocks.enumerated() {
            if index > 0 && loose { out.append(StyledLine()) }
            out += lines(for: block, width: width, depth: depth)
        }
        return out
    }

    private func heading(level: Int, content: [MarkdownInline], width: Int) -> [StyledLine] {
        let style = level == 1 ? theme.heading1 : theme.heading
        if level <= 2 {
            let text = TextWrapper(width: width).wrap(styler.runs(content, style: style))
            let underline = String(repeating: level == 1 ? "━" : "─", count: max(1, text.map(\.width).max() ?? 1))
            return text + [StyledLine(underline, theme.headingMarker)]
        }
        let marker = StyledLine(String(repeating: "#", count: level) + " ", theme.headingMarker)
        return indent(TextWrapper(width: width - marker.width).wrap(styler.runs(content, style: style)), first: marker)
    }

    private func codeBlock(language: String, code: String, width: Int) -> [StyledLine] {
        var text = code
        if text.hasSuffix("\n") { text.removeLast() }
        let header = language.isEmpty ? StyledLine("╭─", theme.codeBorder)
            : StyledLine([StyledRun("╭─ ", theme.codeBorder), StyledRun(language, theme.codeLabel)])
        let gutter = StyledLine("│ ", theme.codeBorder)
        let highlighted: [[(text: String, kind: CodeTokenKind)]]
        if let grammar = LanguageGrammar.named(language) {
            highlighted = SyntaxHighlighter(grammar: grammar).highlight(text)
        } else {
            highlighted = text.split(separator: "\n", omittingEmptySubsequences: false).map { [(String($0), .plain)] }
        }
        var out = [header]
        for tokens in highlighted {
            let runs = tokens.map { StyledRun(Self.expandingTabs($0.text), style(of: $0.kind)) }
            out += Self.cut(StyledLine(runs), width: width - 2).map { $0.prefixed(by: gutter) }
        }
        out.append(StyledLine("╰─", theme.codeBorder))
        return out
    }

    private static func expandingTabs(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "\t" { out += "    " } else { out.append(character) }
        }
        return out
    }

    private func style(of kind: CodeTokenKind) -> TextStyle {
        switch kind {
        case .plain: return .plain
        case .keyword: return theme.keyword
        case .string: return theme.string
        case .comment: return theme.comment
        case .number: return theme.number
        case .typeName: return theme.typeName
        }
    }

    /// A line cut into pieces of at most `width` cells, spaces kept (code keeps its layout).
    static func cut(_ line: StyledLine, width: Int) -> [StyledLine] {
        var out: [StyledLine] = []
        var current = StyledLine()
        var currentWidth = 0
        for run in line.runs {
            for character in run.text {
                let w = DisplayWidth.of(character)
                if currentWidth + w > max(1, width) && currentWidth > 0 {
                    out.append(current)
                    current = StyledLine()
                    currentWidth = 0
                }
                current.append(String(character), run.style, link: run.link)
                currentWidth += w
            }
        }
        out.append(current)
        return out
    }

    private func list(_ list: MarkdownList, width: Int, depth: Int) -> [StyledLine] {
        let bullets = ["•", "◦", "▪", "‣"]
        var out: [StyledLine] = []
        for (index, item) in list.items.enumerated() {
            if index > 0 && !list.tight { out.append(StyledLine()) }
            var marker = StyledLine(list.ordered ? "\(list.start + index)." : bullets[depth % bullets.count], theme.listMarker)
            if let checked = item.checked {
                marker = list.ordered ? marker : StyledLine()
                if !marker.runs.isEmpty { marker.append(" ") }
                marker.append(checked ? "[✓]" : "[ ]", checked ? theme.taskDone : theme.listMarker)
            }
            marker.append(" ")
            let body = stack(item.blocks, width: width - marker.width, depth: depth + 1, loose: !list.tight)
            out += indent(body.isEmpty ? [StyledLine()] : body, first: marker)
        }
        return out
    }

    /// Lines after a first-line prefix, the others indented by as many spaces.
    private func indent(_ lines: [StyledLine], first: StyledLine) -> [StyledLine] {
        let blank = StyledLine(String(repeating: " ", count: first.width))
        return lines.enumerated().map { index, line in
            line.runs.isEmpty && index > 0 ? line : line.prefixed(by: index == 0 ? first : blank)
        }
    }

    /// Display math, indented; framed when it holds a `\boxed{…}`.
    private func displayMath(_ math: MathText, width: Int) -> [StyledLine] {
        let framed = math.rows.contains { $0.contains { if case .boxed = $0 { return true } else { return false } } }
        var line = StyledLine()
        styler.appendMath(math, style: .plain, link: nil, insideFrame: framed, to: &line)
        if !framed {
            return indent(TextWrapper(width: width - 4).wrap(line.runs), first: StyledLine("    "))
        }
        let content = TextWrapper(width: width - 8).wrap(line.runs)
        let inner = content.map(\.width).max() ?? 0
        let border = theme.math.applying(TextStyle(bold: true))
        var out = [StyledLine("  ┏" + String(repeating: "━", count: inner + 2) + "┓", border)]
        for row in content {
            var l = StyledLine("  ┃ ", border)
            l.append(row)
            l.append(String(repeating: " ", count: inner - row.width))
            l.append(" ┃", border)
            out.append(l)
        }
        out.append(StyledLine("  ┗" + String(repeating: "━", count: inner + 2) + "┛", border))
        return out
    }
}
