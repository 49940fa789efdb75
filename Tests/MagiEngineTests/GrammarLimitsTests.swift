@testable import MagiEngine
import Testing

/// Grammars built to exhaust the stack or memory: deep groups are refused with their place, long rule
/// chains run without recursion, and repetitions that multiply past the limit are refused by rule.
@Suite struct GrammarLimitsTests {
    @Test func groupsNestedPastTheLimitAreRefusedWithTheirPlace() throws {
        let deep = "root ::= " + String(repeating: "(", count: 20_000) + "\"a\"" + String(repeating: ")", count: 20_000)
        #expect(throws: GrammarError.tooDeep(limit: 1_000, line: 1, column: 1_010)) { try Grammar(gbnf: deep) }
        #expect(GrammarError.tooDeep(limit: 1_000, line: 1, column: 1_010).description
                == "grammar nests deeper than 1,000 levels at line 1, column 1,010")
        // At the limit the grammar still works.
        let limit = "root ::= " + String(repeating: "(", count: 1_000) + "\"a\" | \"b\"" + String(repeating: ")", count: 1_000)
        let matcher = GrammarMatcher(grammar: try Grammar(gbnf: limit))
        #expect(matcher.matches("a") && matcher.matches("b") && !matcher.matches("c"))
        // Repetitions nest as groups do, with no parentheses needed.
        #expect(throws: GrammarError.tooDeep(limit: 1_000, line: 1, column: 1_013)) { try Grammar(gbnf: "root ::= \"a\"" + String(repeating: "?", count: 5_000)) }
        #expect(throws: GrammarError.tooDeep(limit: 1_000, line: 1, column: 1_613)) {
            try Grammar(gbnf: "root ::= " + String(repeating: "(", count: 600) + "\"a\"" + String(repeating: ")*", count: 600))
        }
    }

    @Test func aChainOf20000RulesCompilesAndMatches() throws {
        let n = 20_000
        var text = "root ::= r0 \"!\"\n"
        for k in 0..<n { text += "r\(k) ::= r\(k + 1) \"x\" | \"y\"\n" }
        text += "r\(n) ::= \"z\"\n"
        let matcher = GrammarMatcher(grammar: try Grammar(gbnf: text))
        #expect(matcher.matches("y!"))
        #expect(matcher.matches("yx!"))
        #expect(matcher.matches("z" + String(repeating: "x", count: n) + "!"))
        #expect(!matcher.matches("z!"))
        // A left-recursive cycle at the end of a long chain is still found.
        let cycle = text.replacingOccurrences(of: "r\(n) ::= \"z\"", with: "r\(n) ::= r0 \"z\"")
        #expect(throws: GrammarError.leftRecursion(rule: "r0")) { try Grammar(gbnf: cycle) }
    }

    @Test func repetitionsThatMultiplyPastTheLimitAreRefused() throws {
        #expect(throws: GrammarError.tooLarge(rule: "root", limit: GrammarError.maxElements)) {
            try Grammar(gbnf: #"root ::= (("a"{1000}){1000}){1000}"#)
        }
        let fine = GrammarMatcher(grammar: try Grammar(gbnf: #"root ::= ("ab"{10}){1,3}"#))
        #expect(fine.matches(String(repeating: "ab", count: 20)) && !fine.matches(String(repeating: "ab", count: 15)))
    }
}
