import Foundation
@testable import MagiRender
import Testing

/// Text from outside reaches the terminal with its control characters written out: the renderer's
/// only escape sequences are its own SGR styles and OSC 8 links.
@Suite struct TerminalTextTests {
    @Test func controlCharactersAreWrittenOutVisibly() {
        #expect(TerminalText.visible("a\u{1B}]52;c;eA==\u{07}b") == "a^[]52;c;eA==^Gb")
        #expect(TerminalText.visible("\u{1B}[2J\u{7F}\u{9B}31m\u{85}") == "^[[2J^?\\x9b31m\\x85")
        #expect(TerminalText.visible("\u{00}\u{08}\u{1F}") == "^@^H^_")
        // Newline and tab stay; a CRLF line end stays, a lone carriage return does not.
        #expect(TerminalText.visible("one\ttwo\r\nthree\rfour\n") == "one\ttwo\r\nthree^Mfour\n")
        // Clean text, Unicode included, comes back as it was.
        let clean = "Grüße — 東京 ✓ 👩‍💻 \u{A0}nbsp"
        #expect(TerminalText.visible(clean) == clean)
        #expect(TerminalText.visible(TerminalText.visible("\u{1B}x")) == "^[x")
    }

    /// Trojan Source (CVE-2021-42574): the embeddings, overrides and isolates that reorder text are
    /// written out, each by its code point; the marks that right-to-left text uses stay.
    @Test func bidirectionalControlsAreWrittenOut() {
        let reordering: [Unicode.Scalar] = ["\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}"]
        for scalar in reordering {
            let shown = "<U+" + String(scalar.value, radix: 16, uppercase: true) + ">"
            #expect(TerminalText.needsEscaping(scalar))
            #expect(TerminalText.visible("a\(scalar)b") == "a\(shown)b")
        }
        #expect(TerminalText.visible("if access \u{202E} \u{2066}// admin\u{2069} \u{2066}") == "if access <U+202E> <U+2066>// admin<U+2069> <U+2066>")
        // Neighbours of the ranges, the marks and right-to-left text itself are left alone.
        let clean = "\u{2029}\u{202F}\u{2065}\u{206A} \u{200E}\u{200F}\u{061C} שלום مرحبا"
        #expect(TerminalText.visible(clean) == clean)
        // The renderer's output carries none of them, as text or as an HTML character reference.
        let rendered = MarkdownRenderer(options: RenderOptions(width: 60, colors: true)).render("x \u{202E}y &#x2067;z [l](http://a.example/\u{202E})")
        #expect(Self.onlyOwnEscapes(rendered) && !rendered.unicodeScalars.contains { reordering.contains($0) }, "\(rendered.debugDescription)")
        #expect(rendered.contains("<U+202E>y") && rendered.contains("<U+2067>z"), "\(rendered.debugDescription)")
    }

    /// Markdown whose every kind of block and span carries control sequences: raw, as HTML
    /// character references (which cmark decodes), in a link's URL and in math.
    static let hostile = """
        # Title \u{1B}]0;pwned\u{07}

        Text \u{1B}]52;c;Y2xpcA==\u{07} and `code \u{1B}[2J` and &#27;]0;entity&#7; and &#155;31m and \u{9B}2J.

        [a link](http://x.example/\u{1B}]0;t\u{07}) and <http://y.example/\u{7}>

        ```python
        print("\u{1B}]0;in code\u{07}")
        ```

        ```
        \u{1B}[2J plain code
        ```

        <div>\u{1B}]0;html\u{07}</div>

        | a | b |
        |---|---|
        | \u{1B}[31m | \u{9B}1m |

        - item \u{1B}[5m
        > quote \u{1B}]0;q\u{07}

        $x = \\text{\u{1B}]0;math\u{07}}$
        """

    /// Every escape sequence in `output` is one of magi's own: SGR or an OSC 8 link whose URL has
    /// no control character; no other control character but newline is there at all.
    static func onlyOwnEscapes(_ output: String) -> Bool {
        let own = try! Regex("\u{1B}\\[[0-9;]*m|\u{1B}\\]8;;[^\u{0}-\u{1F}\u{7F}-\u{9F}]*\u{1B}\\\\|\u{1B}\\[[0-9]*A\r\u{1B}\\[J")
        let rest = output.replacing(own, with: "")
        return !rest.unicodeScalars.contains { TerminalText.needsEscaping($0) }
    }

    @Test(arguments: [true, false]) func theRendererDrawsOnlyItsOwnEscapes(colors: Bool) {
        let options = RenderOptions(width: 60, colors: colors)
        let whole = MarkdownRenderer(options: options).render(Self.hostile)
        #expect(Self.onlyOwnEscapes(whole), "\(whole.debugDescription)")
        let plain = TerminalText.strippingEscapes(whole)
        for shown in ["^[]0;pwned^G", "^[]52;c;Y2xpcA==^G", "code ^[[2J", "^[]0;entity^G", "\\x9b31m", "\\x9b2J", "^[]0;in code^G",
                      "^[[2J plain code", "^[]0;html^G", "^[[31m", "\\x9b1m", "item ^[[5m", "quote ^[]0;q^G"] {
            #expect(plain.contains(shown), "\(shown) in \(plain)")
        }
        var streaming = StreamingMarkdownRenderer(options: options, mode: colors ? .live : .finishedBlocksOnly)
        var streamed = ""
        for character in Self.hostile { streamed += streaming.append(String(character)) }
        streamed += streaming.finish()
        #expect(Self.onlyOwnEscapes(streamed), "\(streamed.debugDescription)")
    }

    @Test func aLinkURLCannotEndTheHyperlinkEarly() {
        for markdown in ["[x](<http://a.example/\u{1B}]0;t\u{07}>)", "[x](http://a.example/&#27;]0;t&#7;)"] {
            let out = MarkdownRenderer(options: RenderOptions(width: 80, colors: true)).render(markdown)
            #expect(out.contains("\u{1B}]8;;http://a.example/%1B]0;t%07\u{1B}\\"), "\(out.debugDescription)")
            #expect(Self.onlyOwnEscapes(out))
        }
    }

    @Test func aPipeGetsTheTextAsItCame() {
        var passthrough = StreamingMarkdownRenderer(options: RenderOptions(), mode: .passthrough)
        #expect(passthrough.append(Self.hostile) == Self.hostile)
    }

    /// (The terminal side is checked in tmux by the command-line tests.)
    @Test func aPipeShowsControlCharactersOnlyWithForcedColour() {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(!ColorMode.auto.showsControlCharacters(fileDescriptor: fds[1]))
        #expect(!ColorMode.never.showsControlCharacters(fileDescriptor: fds[1]))
        #expect(ColorMode.always.showsControlCharacters(fileDescriptor: fds[1]))
    }
}
