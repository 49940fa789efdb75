import CCmark
import Foundation
@testable import MagiRender
import Testing

/// Walks every example of the CommonMark spec (from scripts/gen-commonmark-spec.py): the
/// renderer must handle each node cmark-gfm makes of it, with and without colour, and the plain
/// rendering must hold every word of the example's reference HTML text.
@Suite struct CommonMarkSpecTests {
    struct Example: Decodable {
        let markdown: String
        let html: String
        let section: String
        let example: Int
    }

    /// Examples whose words legitimately differ, with the reason.
    static let knownDivergences: [Int: String] = [
        28: "cmark-gfm 0.29 follows spec 0.29, where &#87654321; (8 digits) is still a character reference (U+FFFD)",
    ]

    static func examples() throws -> [Example]? {
        let path = RenderTestSupport.fixtures + "/commonmark-spec.json"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try JSONDecoder().decode([Example].self, from: data)
    }

    @Test func everyExampleRendersWithItsText() throws {
        guard let examples = try Self.examples() else {
            #expect(!RenderTestSupport.isCI, "missing commonmark-spec.json: run scripts/gen-test-fixtures")
            return
        }
        #expect(examples.count > 600)
        var missing: [String] = []
        for example in examples {
            let plain = MarkdownRenderer(options: RenderOptions(width: 200, colors: false)).render(example.markdown)
            _ = MarkdownRenderer(options: RenderOptions(width: 12, colors: true, theme: .light)).render(example.markdown)
            #expect(!plain.contains("\u{1B}"), "example \(example.example)")
            let compact = plain.filter { !$0.isWhitespace }
            let lost = Self.words(ofHTML: example.html).filter { !compact.contains($0) }
            if !lost.isEmpty && Self.knownDivergences[example.example] == nil {
                missing.append("example \(example.example) (\(example.section)): \(lost)")
            }
        }
        #expect(missing.isEmpty, "\(missing.count) examples lost text: \(missing.prefix(15).joined(separator: "\n"))")
    }

    /// Every node type cmark-gfm makes of the spec is one the renderer knows.
    @Test func everyNodeTypeIsKnown() throws {
        guard let examples = try Self.examples() else { return }
        let known: Set<String> = ["document", "paragraph", "heading", "code_block", "html_block", "block_quote", "list",
                                  "item", "thematic_break", "text", "softbreak", "linebreak", "code", "html_inline",
                                  "emph", "strong", "link", "image", "table", "table_header", "table_row", "table_cell",
                                  "strikethrough", "tasklist"]
        var seen: Set<String> = []
        for example in examples {
            seen.formUnion(Self.nodeTypes(example.markdown))
        }
        seen.formUnion(Self.nodeTypes("| a |\n|---|\n| b |\n\n~~s~~ www.x.org\n\n- [x] t"))
        #expect(seen.subtracting(known).isEmpty, "unknown node types: \(seen.subtracting(known))")
        #expect(seen.isSuperset(of: ["table", "strikethrough", "tasklist", "image", "html_inline", "linebreak"]))
    }

    static func nodeTypes(_ markdown: String) -> Set<String> {
        cmark_gfm_core_extensions_ensure_registered()
        let parser = cmark_parser_new(CMARK_OPT_DEFAULT)
        defer { cmark_parser_free(parser) }
        for name in ["table", "strikethrough", "autolink", "tasklist"] {
            cmark_parser_attach_syntax_extension(parser, cmark_find_syntax_extension(name))
        }
        cmark_parser_feed(parser, markdown, markdown.utf8.count)
        let document = cmark_parser_finish(parser)
        defer { cmark_node_free(document) }
        var types: Set<String> = []
        let iterator = cmark_iter_new(document)
        defer { cmark_iter_free(iterator) }
        while cmark_iter_next(iterator) != CMARK_EVENT_DONE {
            types.insert(String(cString: cmark_node_get_type_string(cmark_iter_get_node(iterator))))
        }
        return types
    }

    /// The words (runs of letters and digits) of an HTML fragment's text.
    static func words(ofHTML html: String) -> [String] {
        var text = html.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
        text = text.replacingOccurrences(of: "&[A-Za-z0-9#]+;", with: " ", options: .regularExpression)
        return text.components(separatedBy: CharacterSet.alphanumerics.inverted).filter { !$0.isEmpty }
    }
}
