import CCmark

/// A Markdown document parsed by cmark-gfm (with the table, strikethrough, autolink and tasklist
/// extensions) into Swift values, with the math taken out first by ``MathExtractor``.
struct MarkdownParser {
    /// A top-level block and the line (0-based) of the source it starts on.
    struct TopLevelBlock: Equatable {
        var block: MarkdownBlock
        var startLine: Int
    }

    private static let extensionNames = ["table", "strikethrough", "autolink", "tasklist"]

    /// Parses `source` (newlines are `\n`).
    static func parse(_ source: String) -> (blocks: [TopLevelBlock], math: MathExtractor) {
        let math = MathExtractor(source)
        cmark_gfm_core_extensions_ensure_registered()
        guard let parser = cmark_parser_new(CMARK_OPT_DEFAULT | CMARK_OPT_SOURCEPOS) else { return ([], math) }
        defer { cmark_parser_free(parser) }
        for name in extensionNames {
            if let syntax = cmark_find_syntax_extension(name) { cmark_parser_attach_syntax_extension(parser, syntax) }
        }
        var text = math.markdown
        text.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cmark_parser_feed(parser, $0.baseAddress, $0.count) }
        }
        guard let document = cmark_parser_finish(parser) else { return ([], math) }
        defer { cmark_node_free(document) }
        let converter = NodeConverter(math: math)
        var blocks: [TopLevelBlock] = []
        for node in children(of: document) {
            if let block = converter.block(node) {
                blocks.append(TopLevelBlock(block: block, startLine: Int(cmark_node_get_start_line(node)) - 1))
            }
        }
        return (blocks, math)
    }

    static func children(of node: OpaquePointer) -> [OpaquePointer] {
        var out: [OpaquePointer] = []
        var child = cmark_node_first_child(node)
        while let c = child {
            out.append(c)
            child = cmark_node_next(c)
        }
        return out
    }
}

/// Turns cmark nodes into ``MarkdownBlock`` and ``MarkdownInline`` values, putting math back.
private struct NodeConverter {
    let math: MathExtractor

    func block(_ node: OpaquePointer) -> MarkdownBlock? {
        switch cmark_node_get_type(node) {
        case CMARK_NODE_PARAGRAPH:
            let content = inlines(of: node)
            let meaningful = content.filter { $0 != .softBreak && $0 != .lineBreak && $0 != .text("") && !isBlank($0) }
            if meaningful.count == 1, case .math(let span) = meaningful[0], span.display { return .math(span) }
            return .paragraph(content)
        case CMARK_NODE_HEADING:
            return .heading(level: Int(cmark_node_get_heading_level(node)), inlines(of: node))
        case CMARK_NODE_CODE_BLOCK:
            let info = string(cmark_node_get_fence_info(node))
            let language = info.split(separator: " ").first.map(String.init) ?? ""
            return .codeBlock(language: language, code: string(cmark_node_get_literal(node)))
        case CMARK_NODE_HTML_BLOCK:
            return .html(math.restoringSource(string(cmark_node_get_literal(node))))
        case CMARK_NODE_BLOCK_QUOTE:
            return .blockQuote(MarkdownParser.children(of: node).compactMap(block))
        case CMARK_NODE_LIST:
            let items = MarkdownParser.children(of: node).map { item -> MarkdownListItem in
                let isTask = string(cmark_node_get_type_string(item)) == "tasklist"
                return MarkdownListItem(checked: isTask ? cmark_gfm_extensions_get_tasklist_item_checked(item) : nil,
                                        blocks: MarkdownParser.children(of: item).compactMap(block))
            }
            return .list(MarkdownList(ordered: cmark_node_get_list_type(node) == CMARK_ORDERED_LIST,
                                      start: Int(cmark_node_get_list_start(node)),
                                      tight: cmark_node_get_list_tight(node) != 0, items: items))
        case CMARK_NODE_THEMATIC_BREAK:
            return .thematicBreak
        default:
            if string(cmark_node_get_type_string(node)) == "table" { return .table(table(node)) }
            // Footnote definitions and unknown extension blocks: keep their text.
            let content = MarkdownParser.children(of: node).compactMap(block)
            return content.isEmpty ? nil : .blockQuote(content)
        }
    }

    private func isBlank(_ inline: MarkdownInline) -> Bool {
        if case .text(let t) = inline { return t.allSatisfy { $0 == " " || $0 == "\t" } }
        return false
    }

    private func table(_ node: OpaquePointer) -> MarkdownTable {
        let columns = Int(cmark_gfm_extensions_get_table_columns(node))
        var alignments: [MarkdownTable.Alignment] = []
        if let raw = cmark_gfm_extensions_get_table_alignments(node) {
            for i in 0..<columns {
                switch raw[i] {
                case UInt8(ascii: "l"): alignments.append(.left)
                case UInt8(ascii: "c"): alignments.append(.center)
                case UInt8(ascii: "r"): alignments.append(.right)
                default: alignments.append(.none)
                }
            }
        }
        let rows = MarkdownParser.children(of: node).map { row in
            MarkdownParser.children(of: row).map { inlines(of: $0) }
        }
        return MarkdownTable(alignments: alignments, rows: rows)
    }

    func inlines(of node: OpaquePointer) -> [MarkdownInline] {
        MarkdownParser.children(of: node).flatMap(inline)
    }

    private func inline(_ node: OpaquePointer) -> [MarkdownInline] {
        switch cmark_node_get_type(node) {
        case CMARK_NODE_TEXT: return textWithMath(string(cmark_node_get_literal(node)))
        case CMARK_NODE_SOFTBREAK: return [.softBreak]
        case CMARK_NODE_LINEBREAK: return [.lineBreak]
        case CMARK_NODE_CODE: return [.code(math.restoringSource(string(cmark_node_get_literal(node))))]
        case CMARK_NODE_HTML_INLINE: return [.html(math.restoringSource(string(cmark_node_get_literal(node))))]
        case CMARK_NODE_EMPH: return [.emphasis(inlines(of: node))]
        case CMARK_NODE_STRONG: return [.strong(inlines(of: node))]
        case CMARK_NODE_LINK:
            return [.link(url: math.restoringSource(string(cmark_node_get_url(node))), inlines(of: node))]
        case CMARK_NODE_IMAGE:
            return [.image(url: math.restoringSource(string(cmark_node_get_url(node))), alt: inlines(of: node))]
        default:
            if string(cmark_node_get_type_string(node)) == "strikethrough" { return [.strikethrough(inlines(of: node))] }
            // Footnote references and unknown extension inlines: keep their text.
            let literal = string(cmark_node_get_literal(node))
            return literal.isEmpty ? inlines(of: node) : textWithMath(literal)
        }
    }

    /// Splits text at math placeholders.
    private func textWithMath(_ text: String) -> [MarkdownInline] {
        var out: [MarkdownInline] = []
        var pending = ""
        for scalar in text.unicodeScalars {
            if let span = math.span(for: scalar) {
                if !pending.isEmpty { out.append(.text(pending)); pending = "" }
                out.append(.math(span))
            } else {
                pending.unicodeScalars.append(scalar)
            }
        }
        if !pending.isEmpty || out.isEmpty { out.append(.text(pending)) }
        return out
    }

    private func string(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }
}
