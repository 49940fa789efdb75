import Testing
@testable import MagiCLI

/// The input state machine, fed lines as libedit would hand them over.
@Suite struct REPLInputTests {
    /// Feeds `reads` and returns every event, with the mode after the last read.
    func events(_ reads: [LineRead]) -> ([REPLInput.Event], REPLInput.Mode) {
        var input = REPLInput()
        let events = reads.compactMap { input.consume($0) }
        return (events, input.mode)
    }

    @Test func aLineIsAMessageAndBlankLinesAreNothing() {
        #expect(events([.line("  hello  "), .line(""), .line("   ")]).0 == [.message("hello")])
    }

    @Test func tripleQuotesSpanLinesKeepingIndentation() {
        let (result, mode) = events([.line("\"\"\""), .line("def f():"), .line("    return 1"), .line("\"\"\"")])
        #expect(result == [.message("def f():\n    return 1")])
        #expect(mode == .ready)
    }

    @Test func tripleQuotesMayShareLinesWithText() {
        #expect(events([.line("\"\"\"first"), .line("second\"\"\"  ")]).0 == [.message("first\nsecond")])
        #expect(events([.line("\"\"\"one line\"\"\"")]).0 == [.message("one line")])
        #expect(events([.line("\"\"\""), .line("\"\"\"")]).0 == [])
    }

    @Test func insideQuotesSlashesAndBackslashesAreText() {
        let (result, _) = events([.line("\"\"\""), .line("/help"), .line("a \\"), .line("\"\"\"")])
        #expect(result == [.message("/help\na \\")])
    }

    @Test func aTrailingBackslashContinuesTheMessage() {
        var input = REPLInput()
        #expect(input.consume(.line("first \\")) == nil)
        #expect(input.prompt == "... ")
        #expect(input.consume(.line("second\\")) == nil)
        #expect(input.consume(.line("third")) == .message("first \nsecond\nthird"))
        #expect(input.prompt == ">>> ")
    }

    @Test func interruptAbandonsAMessageInProgress() {
        let (result, mode) = events([.line("\"\"\""), .line("half a thought"), .interrupt, .line("fresh")])
        #expect(result == [.interrupt, .message("fresh")])
        #expect(mode == .ready)
    }

    @Test func endOfInputEndsEvenInsideAMessage() {
        #expect(events([.line("\"\"\""), .line("text"), .end]).0 == [.end])
        #expect(events([.end]).0 == [.end])
    }

    @Test func slashLinesAreCommandsOrErrors() {
        #expect(events([.line(" /clear ")]).0 == [.command(.clear)])
        #expect(events([.line("/sytem")]).0 == [.invalidCommand(.unknownCommand("sytem", suggestion: "system"))])
    }
}
