import Foundation
@testable import MagiEngine
import Testing

/// GBNF read as llama.cpp reads it, checked by whole strings the grammar must accept or reject.
@Suite struct GrammarTests {
    func matcher(_ gbnf: String) throws -> GrammarMatcher { GrammarMatcher(grammar: try Grammar(gbnf: gbnf)) }

    func expect(_ gbnf: String, accepts good: [String], rejects bad: [String],
                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let m = try matcher(gbnf)
        for s in good { #expect(m.matches(s), "should accept \(s.debugDescription)", sourceLocation: sourceLocation) }
        for s in bad { #expect(!m.matches(s), "should reject \(s.debugDescription)", sourceLocation: sourceLocation) }
    }

    @Test func llamaCppJSONGrammar() throws {
        try expect(GrammarFixtures.json,
                   accepts: [#"{}"#, #"{"a": 1}"#, #"{"a":[1, 2.5e3, "x", true, null, {"b": {}}]}"#,
                             "{\"é\\n\\u00e9\": \"日本\"}", "{\n  \"a\" : -0}"],
                   rejects: [#"[]"#, #"{"a": 1,}"#, #"{"a" 1}"#, #"{'a': 1}"#, "{\"a\u{1}\": 1}", #"{"a": 01}"#, #"{"#])
    }

    @Test func llamaCppExampleGrammars() throws {
        try expect(GrammarFixtures.jsonArray, accepts: ["[\n1,\n\"a\"]", "[\n]"], rejects: ["[1]", "[\n1,\n]"])
        try expect(GrammarFixtures.chess, accepts: ["1. e4 e5\n2. Nf3 Nc6\n", "1. e4 e5\n2. O-O-O Qxd8+\n"],
                   rejects: ["1. e4 e5\n", "1. e9 e5\n2. Nf3 Nc6\n"])
        try expect(GrammarFixtures.list, accepts: ["- a\n- bé\n"], rejects: ["- a\n-\n", "- a\u{2028}b\n", "- \u{85}\n", ""])
        try expect(GrammarFixtures.japanese, accepts: ["こんにちは 世界", "カタカナ、"], rejects: ["hello", "こんにちは  世界", ""])
        try expect(GrammarFixtures.arithmetic, accepts: ["a +b = c\n", "(x1*2)=3\n1=1\n"], rejects: ["a + = c\n", "A=1\n"])
    }

    @Test func repetitionsAndOptionals() throws {
        try expect(#"root ::= "a"{2,3} "b"{2} "c"{1,} "d"?"#, accepts: ["aabbc", "aaabbcccd"], rejects: ["abbc", "aaaabbc", "aabc", "aabb", "aabbcdd"])
        try expect("root ::= (\"ab\" | \"c\")* \".\"", accepts: [".", "abcab."], rejects: ["a.", "abc"])
        try expect(#"root ::= "x"{0} "y""#, accepts: ["y"], rejects: ["xy"])
        try expect(#"root ::= [a-c]+ [^a-c]"#, accepts: ["abd", "a\u{10FFFF}", "cé"], rejects: ["ab", "aba"])
    }

    @Test func literalsAndClassesWithEscapes() throws {
        try expect(#"root ::= "\x41\u00e9\U0001F600\t\"\\" [\[\]] [\x00-\x08]"#,
                   accepts: ["Aé😀\t\"\\[\u{7}"], rejects: ["Aé😀\t\"\\[a"])
        try expect(#"root ::= . . "!""#, accepts: ["ab!", "é😀!"], rejects: ["a!", "abc!"])
    }

    @Test func multiByteCharactersMayArriveAByteAtATime() throws {
        var m = try matcher(#"root ::= [α-ω]+ "!""#)
        let bytes = Array("λμ!".utf8)
        for b in bytes.dropLast() {
            let accepted = m.accept([b])
            #expect(accepted && !m.canEnd)
        }
        let capitalAlpha = m.accept([0xCE, 0x91]) // outside the class
        let bang = m.accept([UInt8(ascii: "!")])
        #expect(!capitalAlpha && bang)
        #expect(m.canEnd && m.isComplete)
    }

    @Test func commentsAndLineBreaks() throws {
        let gbnf = """
        # leading comment
        root ::= a | # a line ending in | continues on the next
          "b"
        a ::= ( "x"
                "y" )
        """
        try expect(gbnf, accepts: ["xy", "b"], rejects: ["x", "xyb"])
        // As in llama.cpp, a rule does not continue on a line that starts with '|'.
        #expect(throws: GrammarError.syntax(line: 2, column: 1, message: "expected a rule name, found '|'")) {
            try Grammar(gbnf: "root ::= \"a\"\n| \"b\"")
        }
    }

    @Test(arguments: [
        ("root ::= \"a\"\nroot ::= \"b\"", GrammarError.duplicateRule(name: "root", line: 2, column: 1)),
        ("root ::= foo", GrammarError.undefinedRule(name: "foo", line: 1, column: 10)),
        ("rot ::= \"a\"", GrammarError.missingStartRule("root")),
        ("root ::= \"abc", GrammarError.syntax(line: 1, column: 14, message: "unterminated string literal")),
        ("root ::= \"a\"\n  \"b\"", GrammarError.syntax(line: 2, column: 3, message: "expected a rule name, found '\"'")),
        ("root ::= [a-", GrammarError.syntax(line: 1, column: 13, message: "unterminated character class")),
        ("root ::= * \"a\"", GrammarError.syntax(line: 1, column: 10, message: "'*' has nothing before it to repeat")),
        ("root = \"a\"", GrammarError.syntax(line: 1, column: 6, message: "expected '::=' after rule name 'root'")),
        ("root ::= \"\\q\"", GrammarError.syntax(line: 1, column: 12, message: "unknown escape '\\q'")),
        ("root ::= ( \"a\"", GrammarError.syntax(line: 1, column: 15, message: "expected ')'")),
        ("root ::= \"a\"{3,1}", GrammarError.syntax(line: 1, column: 17, message: "repetition maximum 1 is below its minimum 3")),
        ("root ::= \"é\" )", GrammarError.syntax(line: 1, column: 14, message: "expected end of line, found ')'")),
        ("root ::= x \"a\"\nx ::= root?", GrammarError.leftRecursion(rule: "root")),
        ("root ::= <think>", GrammarError.syntax(line: 1, column: 10, message: "tokens are referenced by id ('<[id]>'), not by text")),
        ("root ::= <[12] \"a\"", GrammarError.syntax(line: 1, column: 14, message: "expected ']>' to close the token reference")),
    ])
    func malformedGrammarsAreReportedWithTheirPlace(gbnf: String, error: GrammarError) {
        #expect(throws: error) { try Grammar(gbnf: gbnf) }
    }
}
