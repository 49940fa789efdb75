/// Renders Markdown as it streams in, token by token, to a terminal.
///
/// Top-level blocks that are finished (a later block has begun on a complete line) are printed
/// once and never touched again; only the open block at the end is redrawn in place, by moving
/// the cursor up over it and clearing to the end of the screen. The final screen is the same as
/// ``MarkdownRenderer/render(_:)`` of the whole text, however the text was split into chunks.
///
/// Each call returns the text to write to the terminal, as it is.
public struct StreamingMarkdownRenderer: Sendable {
    /// How the stream reaches its reader.
    public enum Mode: Sendable {
        /// Redraw the open block in place as text arrives (a terminal).
        case live
        /// Print each block once it is finished, never moving the cursor: laid out, but no
        /// escape codes at all when colours are off (a terminal with `NO_COLOR`, a log).
        case finishedBlocksOnly
        /// Pass the text through unchanged (a pipe).
        case passthrough
    }

    public private(set) var options: RenderOptions
    public let mode: Mode

    /// Text of the open block(s), from the start of the first block not yet printed for good.
    private var pending = ""
    /// A carriage return at the end of a chunk, held back in case a line feed follows.
    private var heldCarriageReturn = false
    private var printedFinishedBlock = false
    /// Lines printed for good (finished blocks and the blank lines between them).
    private(set) var finishedLineCount = 0
    /// The open block's lines as they are on the screen now (live mode).
    private var drawn: [String] = []

    public init(options: RenderOptions, mode: Mode = .live) {
        self.options = options
        self.mode = mode
    }

    /// Adds a chunk of the text; returns what to write to the terminal.
    public mutating func append(_ chunk: String) -> String {
        if mode == .passthrough { return chunk }
        let text = normalizedNewlines(chunk)
        pending += text
        var out = commitFinishedBlocks(after: text)
        if mode == .live { out += redraw(openLines()) }
        return out
    }

    /// Ends the stream: the open block is drawn for the last time. Returns what to write.
    public mutating func finish() -> String {
        if mode == .passthrough { return "" }
        if heldCarriageReturn { pending += "\n"; heldCarriageReturn = false }
        let lines = openLines()
        pending = ""
        let out = mode == .live ? redraw(lines) : lines.map { $0 + "\n" }.joined()
        drawn = []
        return out
    }

    /// The terminal changed width: the open block is laid out again (finished blocks stay as
    /// printed). Assumes the terminal reflowed the lines already drawn, as most do.
    public mutating func resize(width: Int) -> String {
        let oldWidth = options.width
        options.width = max(8, width)
        guard mode == .live, options.width != oldWidth else { return "" }
        let rows = drawn.reduce(0) { $0 + Self.rows(of: $1, width: options.width) }
        drawn = []
        return Self.moveUpAndClear(rows) + redraw(openLines())
    }

    private var renderer: MarkdownRenderer { MarkdownRenderer(options: options) }

    private mutating func normalizedNewlines(_ chunk: String) -> String {
        var text = (heldCarriageReturn ? "\r" : "") + chunk
        heldCarriageReturn = text.unicodeScalars.last == "\r"
        if heldCarriageReturn { text.unicodeScalars.removeLast() }
        return MarkdownRenderer.normalizingNewlines(text)
    }

    /// Prints the blocks that can no longer change, and drops their text from `pending`.
    private mutating func commitFinishedBlocks(after chunk: String) -> String {
        // Only complete lines decide (a partial line such as `-` might still become `---`), so
        // nothing can finish until a chunk ends a line.
        guard chunk.contains("\n"), let lastNewline = pending.lastIndex(of: "\n") else { return "" }
        let (blocks, math) = MarkdownParser.parse(String(pending[...lastNewline]))
        let mathLimit = math.unclosedDisplayLine ?? Int.max
        var finished = 0
        while finished + 1 < blocks.count && blocks[finished + 1].startLine <= mathLimit { finished += 1 }
        guard finished > 0 else { return "" }
        var lines: [String] = []
        for block in blocks[..<finished] {
            if printedFinishedBlock { lines.append("") }
            lines += renderer.lines(for: block.block).map { $0.encoded(escapes: options.colors) }
            printedFinishedBlock = true
        }
        pending = Self.dropping(lines: blocks[finished].startLine, from: pending)
        finishedLineCount += lines.count
        if mode == .live {
            let out = redraw(lines)
            drawn = []
            return out
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The lines of the open block(s), with the blank line that separates them from what is printed.
    private func openLines() -> [String] {
        let blocks = MarkdownParser.parse(pending).blocks
        var lines: [String] = []
        for block in blocks {
            if printedFinishedBlock || !lines.isEmpty { lines.append("") }
            lines += renderer.lines(for: block.block).map { $0.encoded(escapes: options.colors) }
        }
        return lines
    }

    /// Replaces the drawn open lines with `lines`, rewriting only from the first line that changed.
    private mutating func redraw(_ lines: [String]) -> String {
        var same = 0
        while same < drawn.count && same < lines.count && drawn[same] == lines[same] { same += 1 }
        if same == drawn.count && same == lines.count { return "" }
        let rows = drawn[same...].reduce(0) { $0 + Self.rows(of: $1, width: options.width) }
        drawn = lines
        return Self.moveUpAndClear(rows) + lines[same...].map { $0 + "\n" }.joined()
    }

    private static func moveUpAndClear(_ rows: Int) -> String {
        rows > 0 ? "\u{1B}[\(rows)A\r\u{1B}[J" : ""
    }

    /// The terminal rows a drawn line takes at a width (a line wider than the terminal wraps).
    private static func rows(of line: String, width: Int) -> Int {
        let cells = DisplayWidth.of(TerminalText.strippingEscapes(line))
        return max(1, (cells + width - 1) / width)
    }

    private static func dropping(lines count: Int, from text: String) -> String {
        var remaining = count
        var index = text.startIndex
        while remaining > 0, let newline = text[index...].firstIndex(of: "\n") {
            index = text.index(after: newline)
            remaining -= 1
        }
        return String(text[index...])
    }
}
