/// Turns inline Markdown (emphasis, code, links, math, …) into styled runs ready to wrap; hard
/// breaks become `\n`.
struct InlineStyler {
    let options: RenderOptions
    private var theme: Theme { options.theme }

    func runs(_ inlines: [MarkdownInline], style: TextStyle = .plain) -> [StyledRun] {
        var line = StyledLine()
        append(inlines, style: style, link: nil, to: &line)
        return line.runs
    }

    /// The text of inline content without any styling (for alt text and comparisons).
    static func plainText(_ inlines: [MarkdownInline]) -> String {
        inlines.map { inline -> String in
            switch inline {
            case .text(let t), .code(let t), .html(let t): return t
            case .softBreak, .lineBreak: return " "
            case .emphasis(let c), .strong(let c), .strikethrough(let c), .link(_, let c), .image(_, let c):
                return plainText(c)
            case .math(let span): return MathText(latex: span.latex).plainText
            }
        }.joined()
    }

    private func append(_ inlines: [MarkdownInline], style: TextStyle, link: String?, to line: inout StyledLine) {
        for inline in inlines { append(inline, style: style, link: link, to: &line) }
    }

    private func append(_ inline: MarkdownInline, style: TextStyle, link: String?, to line: inout StyledLine) {
        switch inline {
        case .text(let text):
            line.append(text, style, link: link)
        case .softBreak:
            line.append(" ", style, link: link)
        case .lineBreak:
            line.append("\n", style)
        case .code(let code):
            let text = options.colors ? code : "`" + code + "`"
            line.append(text, style.applying(theme.inlineCode), link: link)
        case .html(let html):
            line.append(html, style.applying(theme.html), link: link)
        case .emphasis(let content):
            append(content, style: style.applying(theme.emphasis), link: link, to: &line)
        case .strong(let content):
            append(content, style: style.applying(theme.strong), link: link, to: &line)
        case .strikethrough(let content):
            if !options.colors { line.append("~~", style) }
            append(content, style: style.applying(theme.strikethrough), link: link, to: &line)
            if !options.colors { line.append("~~", style) }
        case .link(let url, let content):
            let text = Self.plainText(content)
            let target = options.writesURLs ? nil : url
            append(content, style: style.applying(theme.link), link: target, to: &line)
            let shown = url.hasPrefix("mailto:") ? String(url.dropFirst(7)) : url
            if options.writesURLs && !url.isEmpty && text != shown && text != url {
                line.append(" (\(url))", style.applying(theme.linkURL))
            }
        case .image(let url, let alt):
            let text = Self.plainText(alt)
            let label = text.isEmpty ? "[image]" : "[image: \(text)]"
            line.append(label, style.applying(theme.image), link: options.writesURLs ? nil : url)
            if options.writesURLs && !url.isEmpty { line.append(" (\(url))", style.applying(theme.linkURL)) }
        case .math(let span):
            appendMath(MathText(latex: span.latex), style: style, link: link, to: &line)
        }
    }

    /// Math inline: rows of a matrix or `\\` become line breaks, boxes are highlighted (or bracketed without colour).
    /// Inside a frame (display math with a box) boxes are only bold: the frame marks them.
    func appendMath(_ math: MathText, style: TextStyle, link: String?, insideFrame: Bool = false, to line: inout StyledLine) {
        let mathStyle = style.applying(theme.math)
        for (index, row) in math.rows.enumerated() {
            if index > 0 { line.append("\n", style) }
            for piece in row {
                switch piece {
                case .text(let text):
                    line.append(text, mathStyle, link: link)
                case .boxed(let text):
                    if insideFrame {
                        line.append(text, mathStyle.applying(TextStyle(bold: true)), link: link)
                    } else if options.colors {
                        line.append(" \(text) ", style.applying(theme.boxed), link: link)
                    } else {
                        line.append("[\(text)]", mathStyle, link: link)
                    }
                }
            }
        }
    }
}
