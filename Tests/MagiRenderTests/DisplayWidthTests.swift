@testable import MagiRender
import Testing

@Suite struct DisplayWidthTests {
    /// Every case of the fixture made by scripts/gen-width-fixture.py with wcwidth.width.
    @Test func matchesWcwidth() {
        var mismatches: [String] = []
        for (text, width) in DisplayWidthOracle.cases where DisplayWidth.of(text) != width {
            let scalars = text.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")
            mismatches.append("\(scalars): wcwidth \(width), magi \(DisplayWidth.of(text))")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(DisplayWidthOracle.cases.count): \(mismatches.prefix(20))")
    }

    @Test func emojiSequencesTakeTwoCells() {
        #expect(DisplayWidth.of("👨‍👩‍👧") == 2)
        #expect(DisplayWidth.of("🇯🇵") == 2)
        #expect(DisplayWidth.of("❤️") == 2)
        #expect(DisplayWidth.of("❤") == 1)
        #expect(DisplayWidth.of("👍🏽") == 2)
        #expect(DisplayWidth.of("e\u{301}") == 1)
        #expect(DisplayWidth.of("日本") == 4)
    }

    @Test func wrappingBreaksBetweenWideCharactersAndKeepsClusters() {
        let lines = TextWrapper(width: 7).wrap([StyledRun("日本語のテキストです")]).map(\.plainText)
        #expect(lines == ["日本語", "のテキ", "ストで", "す"])
        let emoji = TextWrapper(width: 5).wrap([StyledRun("👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧")]).map(\.plainText)
        #expect(emoji == ["👨‍👩‍👧👨‍👩‍👧", "👨‍👩‍👧"])
        let words = TextWrapper(width: 10).wrap([StyledRun("the quick brown fox jumps")]).map(\.plainText)
        #expect(words == ["the quick", "brown fox", "jumps"])
    }
}
