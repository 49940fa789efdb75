@testable import MagiRender
import Testing

@Suite struct MarkdownRendererTests {
    func plain(_ markdown: String, _ width: Int = 40) -> String { RenderTestSupport.plain(markdown, width: width) }

    @Test func paragraphsWrapAndBlocksAreSeparatedByABlankLine() {
        let out = plain("The quick brown fox jumps over the lazy dog and keeps running far away.\n\nSecond *paragraph*.", 30)
        #expect(out == """
            The quick brown fox jumps over
            the lazy dog and keeps running
            far away.

            Second paragraph.

            """)
    }

    @Test func headings() {
        #expect(plain("# Title\n## Part\n### Detail") == """
            Title
            ━━━━━

            Part
            ────

            ### Detail

            """)
    }

    @Test func inlineCodeStrikethroughAndLinksWithoutColour() {
        #expect(plain("Use `ls -l`, ~~not~~ [docs](https://x.org) or <https://y.org>.", 80)
                == "Use `ls -l`, ~~not~~ docs (https://x.org) or https://y.org.\n")
        #expect(plain("![a cat](cat.png)") == "[image: a cat] (cat.png)\n")
    }

    @Test func linksAreHyperlinksWithColour() {
        let out = MarkdownRenderer(options: RenderOptions(width: 80)).render("[docs](https://x.org)")
        #expect(out.contains("\u{1B}]8;;https://x.org\u{1B}\\"))
        #expect(!out.contains("(https://x.org)"))
        #expect(out.contains("\u{1B}]8;;\u{1B}\\"))
    }

    @Test func nestedOrderedAndTaskLists() {
        #expect(plain("- one\n  - inner\n    1. deep\n- two\n\n3. three\n4. four\n\n- [ ] todo\n- [x] done") == """
            • one
              ◦ inner
                1. deep
            • two

            3. three
            4. four

            [ ] todo
            [✓] done

            """)
    }

    @Test func looseListItemsAreSpaced() {
        #expect(plain("- a\n\n- b") == "• a\n\n• b\n")
    }

    @Test func blockQuotes() {
        #expect(plain("> quoted text that wraps around here\n> > nested", 20) == """
            │ quoted text that
            │ wraps around here
            │
            │ │ nested

            """)
    }

    @Test func codeBlocksHaveALabelAndKeepTheirLayout() {
        #expect(plain("```swift\nlet x = 1\n    indented\n```") == """
            ╭─ swift
            │ let x = 1
            │     indented
            ╰─

            """)
        #expect(plain("```\n0123456789\n```", 8) == "╭─\n│ 012345\n│ 6789\n╰─\n")
    }

    @Test func tablesAreDrawnAlignedAndWrapped() {
        let table = "| Name | Qty | Note |\n|:-----|----:|:----:|\n| apple | 3 | red |\n| 日本 | 12 | a long note here |"
        #expect(plain(table, 80) == """
            ┌───────┬─────┬──────────────────┐
            │ Name  │ Qty │       Note       │
            ├───────┼─────┼──────────────────┤
            │ apple │   3 │       red        │
            │ 日本  │  12 │ a long note here │
            └───────┴─────┴──────────────────┘

            """)
        #expect(plain(table, 30) == """
            ┌───────┬─────┬──────────────┐
            │ Name  │ Qty │     Note     │
            ├───────┼─────┼──────────────┤
            │ apple │   3 │     red      │
            │ 日本  │  12 │ a long note  │
            │       │     │     here     │
            └───────┴─────┴──────────────┘

            """)
    }

    @Test func thematicBreaksFillTheWidth() {
        #expect(plain("a\n\n---\n\nb", 10) == "a\n\n──────────\n\nb\n")
    }

    @Test func colourOffEmitsNoEscapeCodes() {
        let doc = "# T\n\n*e* **s** `c` [l](u)\n\n```python\ndef f(): return 1 # c\n```\n\n| a |\n|---|\n| b |\n\n> q\n\n$x^2$"
        #expect(!plain(doc).contains("\u{1B}"))
        let coloured = MarkdownRenderer(options: RenderOptions(width: 40, colors: true, theme: .light)).render(doc)
        #expect(coloured.contains("\u{1B}["))
    }

    @Test func codeIsHighlightedByLanguage() {
        let out = MarkdownRenderer(options: RenderOptions(width: 60)).render("```python\ndef f(x):\n    return \"s\" # note\n```")
        let keyword = Theme.dark.keyword.sgr, string = Theme.dark.string.sgr, comment = Theme.dark.comment.sgr
        #expect(out.contains(keyword + "def"))
        #expect(out.contains(string + "\"s\""))
        #expect(out.contains(comment + "# note"))
    }
}
