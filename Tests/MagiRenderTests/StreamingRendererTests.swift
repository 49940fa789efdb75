@testable import MagiRender
import Testing

@Suite struct StreamingRendererTests {
    static let documents = [
        """
        # Streaming *test*

        A paragraph with **bold**, `code`, a [link](https://example.org) and math $x^2 + y_1$.
        It keeps going on a second line so that it wraps at least once or twice on a narrow screen.

        Setext heading
        --------------

        - item one
        - item two with $\\alpha$
          - nested item
        - [x] done task

        1. first
        2. second

        > A quote that is long enough to wrap around the screen edge
        lazy continuation line

        ```swift
        let x = 1 // comment
        func f() -> Int { return "s".count }
        ```

        | Name | 数 |
        |:-----|---:|
        | 東京 | 13 |
        | Paris | 2 |

        ***

        $$
        \\int_0^1 x\\,dx = \\frac{1}{2}
        $$

        So the answer is $\\boxed{42}$. It costs $5 and $10.
        """,
        """
        Intro line
        - a list right after
        - - nested bullet

        ```
        unclosed code fence
        still code
        """,
        """
        ## 見出し 🎉

        日本語の文章はスペースなしで折り返されます。👨‍👩‍👧 と 🇯🇵 を含みます。

        $$\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}$$

        Term
        ===

        ~~~python
        def f():
            return '''multi
        line'''
        ~~~
        """,
    ]

    /// Splits `text` at random places (some chunks empty, some a single character).
    static func randomChunks(_ text: String, using generator: inout some RandomNumberGenerator) -> [String] {
        let characters = Array(text)
        var chunks: [String] = []
        var i = 0
        while i < characters.count {
            let length = Int.random(in: 0...12, using: &generator)
            chunks.append(String(characters[i..<min(characters.count, i + length)]))
            i += length
        }
        return chunks
    }

    static func streamed(_ chunks: [String], options: RenderOptions, mode: StreamingMarkdownRenderer.Mode = .live)
        -> (terminal: VirtualTerminal, output: String) {
        var renderer = StreamingMarkdownRenderer(options: options, mode: mode)
        var terminal = VirtualTerminal()
        var output = ""
        for chunk in chunks {
            let piece = renderer.append(chunk)
            output += piece
            terminal.write(piece)
        }
        let last = renderer.finish()
        terminal.write(last)
        return (terminal, output + last)
    }

    @Test(arguments: [false, true])
    func finalScreenIsTheOneShotRenderingForAnyChunking(colors: Bool) {
        var generator = SplitMix64(seed: 42)
        for (index, document) in Self.documents.enumerated() {
            for width in [24, 60] {
                let options = RenderOptions(width: width, colors: colors)
                let expected = TerminalText.strippingEscapes(MarkdownRenderer(options: options).render(document))
                for trial in 0..<40 {
                    let chunks = trial == 0 ? Array(document).map { String($0) } : Self.randomChunks(document, using: &generator)
                    let (terminal, _) = Self.streamed(chunks, options: options)
                    #expect(terminal.screen == expected, "document \(index), width \(width), trial \(trial)")
                    if terminal.screen != expected { return }
                }
            }
        }
    }

    @Test func finishedBlocksAreNeverRedrawn() {
        let document = Self.documents[0]
        let options = RenderOptions(width: 40, colors: false)
        var renderer = StreamingMarkdownRenderer(options: options)
        var terminal = VirtualTerminal()
        for character in document {
            let finished = renderer.finishedLineCount
            terminal.write(renderer.append(String(character)))
            #expect(terminal.cursorUpTargets.allSatisfy { $0 >= finished }, "cursor moved into finished lines")
            terminal.cursorUpTargets = []
        }
        #expect(renderer.finishedLineCount > 20)
        terminal.write(renderer.finish())
        #expect(terminal.screen == MarkdownRenderer(options: options).render(document))
    }

    @Test func finishedBlocksOnlyModeWritesEachBlockOnceWithoutEscapes() {
        var generator = SplitMix64(seed: 7)
        let document = Self.documents[0]
        let options = RenderOptions(width: 50, colors: false)
        let (_, output) = Self.streamed(Self.randomChunks(document, using: &generator), options: options, mode: .finishedBlocksOnly)
        #expect(!output.contains("\u{1B}"))
        #expect(output == MarkdownRenderer(options: options).render(document))
    }

    @Test func passthroughModeKeepsTheText() {
        let (_, output) = Self.streamed(["# a", "\n*b*", " $x$\r\n"], options: RenderOptions(), mode: .passthrough)
        #expect(output == "# a\n*b* $x$\r\n")
    }

    @Test func resizeLaysOutTheOpenBlockAgain() {
        let options = RenderOptions(width: 60, colors: false)
        var renderer = StreamingMarkdownRenderer(options: options)
        var terminal = VirtualTerminal()
        terminal.write(renderer.append("First paragraph.\n\nThe open paragraph is long enough to wrap when narrow"))
        terminal.write(renderer.resize(width: 20))
        terminal.write(renderer.append(" indeed."))
        terminal.write(renderer.finish())
        #expect(terminal.screen == """
            First paragraph.

            The open paragraph
            is long enough to
            wrap when narrow
            indeed.

            """)
    }

    @Test func carriageReturnsSplitAcrossChunksAreOneNewline() {
        let (terminal, _) = Self.streamed(["a\r", "\n\r", "\nb"], options: RenderOptions(width: 40, colors: false))
        #expect(terminal.screen == "a\n\nb\n")
    }
}

/// A small seeded generator, so a failing chunking can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
