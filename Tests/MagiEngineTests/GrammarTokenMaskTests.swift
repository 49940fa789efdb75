import Foundation
@testable import MagiEngine
import MagiTokenizer
import Testing

/// Token masks from the trie walk, on a hand-made vocabulary and checked token by token on SmolLM2's.
@Suite(.serialized) struct GrammarTokenMaskTests {
    /// Allowed token ids in the matcher's current state.
    static func allowed(_ m: GrammarMatcher, _ trie: TokenTrie) -> Set<Int32> {
        var mask = [UInt64](repeating: 0, count: (trie.vocabularySize + 63) / 64)
        mask.withUnsafeMutableBufferPointer { m.allowedTokens(in: trie, into: $0) }
        return Set((0..<Int32(trie.vocabularySize)).filter { mask[Int($0) >> 6] >> UInt64($0 & 63) & 1 != 0 })
    }

    func accept(_ m: inout GrammarMatcher, _ bytes: some Collection<UInt8>, sourceLocation: SourceLocation = #_sourceLocation) {
        let accepted = m.accept(bytes)
        #expect(accepted, sourceLocation: sourceLocation)
    }

    // Token ids of the small vocabulary.
    static let pieces: [[UInt8]] = [
        Array("{\"".utf8),  // 0: crosses from "{" into the string
        Array("\"".utf8),   // 1
        Array("ab".utf8),   // 2
        [0xC3],             // 3: first byte of "é"
        [0xA9],             // 4: second byte of "é"
        Array("é".utf8),    // 5
        Array("\"}".utf8),  // 6: ends the string and the object
        [],                 // 7: a control token (no bytes), never allowed
        [],                 // 8: end of generation
        Array("b\"}".utf8), // 9
        Array("{".utf8),    // 10
        Array("ab".utf8),   // 11: same bytes as 2
        Array("}x".utf8),   // 12: runs past the end
    ]
    static let trie = TokenTrie(pieces: pieces, endOfGenerationTokens: [8])

    @Test func masksFollowTheGrammarAcrossRuleBoundariesAndSplitCharacters() throws {
        var m = GrammarMatcher(grammar: try Grammar(gbnf: #"root ::= "{" str "}"  str ::= "\"" [a-zé]+ "\"""#.replacingOccurrences(of: "  ", with: "\n")))
        let trie = Self.trie
        #expect(Self.allowed(m, trie) == [0, 10])
        accept(&m, trie.bytes(of: 0))
        #expect(Self.allowed(m, trie) == [2, 3, 5, 9, 11])
        accept(&m, trie.bytes(of: 3))
        #expect(Self.allowed(m, trie) == [4]) // only the byte that completes "é"
        accept(&m, trie.bytes(of: 4))
        #expect(Self.allowed(m, trie) == [1, 2, 3, 5, 6, 9, 11])
        accept(&m, trie.bytes(of: 6))
        #expect(m.canEnd && m.isComplete)
        #expect(Self.allowed(m, trie) == [8]) // only the end of generation
    }

    /// `<[id]>` matches a control token (which has no bytes) by id, as Mistral's `[ARGS]` between a tool
    /// name and its arguments; the token is allowed exactly where the grammar expects it.
    @Test func tokenElementsMatchControlTokensById() throws {
        let grammar = try Grammar(gbnf: #"root ::= "{" <[7]> "\"ab" ( <[7]> "\"ab" )* "\"}""#)
        var m = GrammarMatcher(grammar: grammar)
        accept(&m, Self.trie.bytes(of: 10))
        #expect(Self.allowed(m, Self.trie) == [7])
        let quoteFirst = m.accept(Array("\"".utf8)), tokenFirst = m.accept(token: 7)
        #expect(!quoteFirst && tokenFirst)
        #expect(Self.allowed(m, Self.trie) == [1])
        accept(&m, Array("\"".utf8))
        #expect(Self.allowed(m, Self.trie) == [2, 11])
        accept(&m, Self.trie.bytes(of: 2))
        #expect(Self.allowed(m, Self.trie) == [1, 6, 7])
        let endAsToken = m.accept(token: 8)
        #expect(!endAsToken)

        // Through the sampler stage: greedy prefers token 12, then 9, but the grammar wants the control token.
        var sampler = Sampler(.greedy)
        sampler.prepend(GrammarConstraint(grammar: grammar, trie: Self.trie))
        var out: [Int32] = []
        for _ in 0..<6 {
            let logits: [Float] = [0, 0, 1, 0, 0, 0, 2, 0, 3, 5, 1, 0, 9]
            out.append(logits.withUnsafeBufferPointer { sampler.sample($0) })
        }
        #expect(out == [10, 7, 1, 2, 6, 8])
    }

    @Test func theConstraintStageMasksLogitsToMinusInfinity() throws {
        let grammar = try Grammar(gbnf: #"root ::= "{" "\"" [a-z]+ "\"}""#)
        var stage = GrammarConstraint(grammar: grammar, trie: Self.trie)
        var c = TokenCandidates()
        [Float](repeating: 1, count: Self.pieces.count).withUnsafeBufferPointer { c.load($0) }
        stage.apply(to: &c)
        #expect(c.ids.filter { c.logits[Int($0)].isFinite } == [0, 10])
        var sampler = Sampler(.greedy)
        sampler.prepend(GrammarConstraint(grammar: grammar, trie: Self.trie))
        var out: [Int32] = []
        for _ in 0..<4 {
            let logits: [Float] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 0, 9] // prefers 12, then 9
            out.append(logits.withUnsafeBufferPointer { sampler.sample($0) })
        }
        #expect(out == [10, 1, 9, 8])
    }

    // MARK: - SmolLM2's vocabulary

    static func smolTokenizer() throws -> Tokenizer {
        try Tokenizer(vocabulary: TokenizerVocabulary(gguf: GGUFFile(path: TestEnvironment.modelPath)))
    }

    /// Every token's verdict from the trie walk equals feeding that token alone to the matcher.
    @Test(.enabled(if: TestEnvironment.hasModel)) func trieWalkAgreesWithCheckingEveryToken() throws {
        let tokenizer = try Self.smolTokenizer()
        let trie = TokenTrie(tokenizer: tokenizer)
        let grammar = try Grammar(gbnf: GrammarFixtures.json)
        for prefix in ["", "{", "{\"na", "{\"name\": ", "{\"a\": [1, 2", "{\"a\": \"\\u00", "{\"a\": \"caf\u{C3}", "{\"a\": {}}"] {
            var m = GrammarMatcher(grammar: grammar)
            accept(&m, Array(prefix.utf8))
            let walked = Self.allowed(m, trie)
            var expected: Set<Int32> = []
            for id in 0..<Int32(tokenizer.vocabularySize) {
                let bytes = trie.bytes(of: id)
                if trie.isEndOfGeneration(id) ? m.canEnd : (!bytes.isEmpty && { var c = m; return c.accept(bytes) }()) {
                    expected.insert(id)
                }
            }
            #expect(walked == expected, "after \(prefix.debugDescription): \(walked.symmetricDifference(expected).prefix(5))")
            #expect(!walked.isEmpty)
        }
    }

    /// The cost of one mask for llama.cpp's JSON grammar over SmolLM2's 49,152 tokens, measured along
    /// a JSON document without the mask cache.
    @Test(.enabled(if: TestEnvironment.hasModel)) func perStepCostOnSmolLM2() throws {
        let tokenizer = try Self.smolTokenizer()
        let clock = ContinuousClock()
        let t0 = clock.now
        let trie = TokenTrie(tokenizer: tokenizer)
        let trieSeconds = (clock.now - t0).seconds
        let grammar = try Grammar(gbnf: GrammarFixtures.json)
        let document = #"{"name": "Ada Lovelace", "born": 1815, "tags": ["math", "poetry"], "notes": "Wrote the first program; café ☕", "ok": true}"#
        let tokens = tokenizer.encode(document, addSpecial: false)
        var m = GrammarMatcher(grammar: grammar)
        var mask = [UInt64](repeating: 0, count: (trie.vocabularySize + 63) / 64)
        var times: [Double] = []
        for token in tokens {
            for i in mask.indices { mask[i] = 0 }
            let t = clock.now
            mask.withUnsafeMutableBufferPointer { m.allowedTokens(in: trie, into: $0) }
            times.append((clock.now - t).seconds * 1000)
            #expect(mask[Int(token) >> 6] >> UInt64(token & 63) & 1 != 0, "token \(token) was masked")
            accept(&m, trie.bytes(of: token))
        }
        let mean = times.reduce(0, +) / Double(times.count)
        print(String(format: "grammar mask on SmolLM2 (%d tokens, %d trie nodes, trie built in %.0f ms): mean %.2f ms, max %.2f ms over %d steps",
                     trie.vocabularySize, trie.nodeCount, trieSeconds * 1000, mean, times.max() ?? 0, times.count))
        #expect(m.canEnd)
    }
}
