import Foundation
import MagiEngine
import Testing

/// Samplers checked on small distributions whose results are computed by hand.
@Suite struct SamplerTests {
    func candidates(_ logits: [Float]) -> TokenCandidates {
        var c = TokenCandidates()
        logits.withUnsafeBufferPointer { c.load($0) }
        return c
    }

    @Test func greedyTakesTheHighestLogitAndTheLowestIdOnTies() {
        var s = Sampler(.greedy)
        #expect([0.1, 2.0, -1, 1.9].withUnsafeBufferPointer { s.sample($0) } == 1)
        #expect([3, 1, 3].withUnsafeBufferPointer { s.sample($0) } == 0)
    }

    @Test func topKKeepsTheKBest() {
        var c = candidates([0.5, 3, 1, 2, -1])
        var k = TopKStage(k: 2)
        k.apply(to: &c)
        #expect(c.ids == [1, 3])
        #expect(c.logits == [3, 2])
    }

    @Test func topKOnALargeVocabularyMatchesAFullSort() {
        var random = SeededRandom(seed: 3)
        let logits = (0..<50_000).map { _ in Float(random.nextUnitInterval() * 20 - 10) }
        var c = candidates(logits)
        var k = TopKStage(k: 40)
        k.apply(to: &c)
        let expected = logits.enumerated().sorted { $0.element > $1.element }.prefix(40).map { Int32($0.offset) }
        #expect(c.ids == expected)
    }

    @Test func topPKeepsTheSmallestNucleus() {
        // Probabilities 0.5, 0.25, 0.125, 0.125 (logits are their logs).
        let logits: [Float] = [log(0.125), log(0.5), log(0.125), log(0.25)]
        var c = candidates(logits)
        var p = TopPStage(p: 0.7)
        p.apply(to: &c)
        #expect(c.ids == [1, 3]) // 0.5 + 0.25 reaches 0.7
        c = candidates(logits)
        p = TopPStage(p: 0.5)
        p.apply(to: &c)
        #expect(c.ids == [1])
    }

    @Test func minPDropsTokensBelowAFractionOfTheBest() {
        let logits: [Float] = [log(0.5), log(0.3), log(0.15), log(0.05)]
        var c = candidates(logits)
        var m = MinPStage(p: 0.25) // keeps p ≥ 0.125
        m.apply(to: &c)
        #expect(c.ids == [0, 1, 2])
    }

    @Test func temperatureScalesLogits() {
        var c = candidates([2, -4])
        var t = TemperatureStage(temperature: 0.5)
        t.apply(to: &c)
        #expect(c.logits == [4, -8])
    }

    @Test func penaltiesFollowLlamaCppsRule() {
        var stage = PenaltyStage(window: 3, repeatPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25)
        for t: Int32 in [9, 0, 1, 1] { stage.accept(t) } // window keeps 0, 1, 1
        var c = candidates([4, -4, 1])
        stage.apply(to: &c)
        // id 0: 4/2 − 1·0.5 − 0.25 = 1.25; id 1: −4·2 − 2·0.5 − 0.25 = −9.25; id 2 untouched.
        #expect(c.logits == [1.25, -9.25, 1])
    }

    @Test func theDistributionMatchesTheSoftmax() {
        // Probabilities 0.6, 0.3, 0.1: 30 000 seeded draws land within 1.5 % of each.
        var s = Sampler(stages: [DistributionStage(seed: 1234)])
        let logits: [Float] = [log(0.6), log(0.3), log(0.1)]
        var counts = [0, 0, 0]
        for _ in 0..<30_000 { counts[Int(logits.withUnsafeBufferPointer { s.sample($0) })] += 1 }
        let freq = counts.map { Double($0) / 30_000 }
        #expect(abs(freq[0] - 0.6) < 0.015 && abs(freq[1] - 0.3) < 0.015 && abs(freq[2] - 0.1) < 0.015)
    }

    @Test func theSameSeedGivesTheSameTokens() {
        var random = SeededRandom(seed: 5)
        let rows = (0..<50).map { _ in (0..<1000).map { _ in Float(random.nextUnitInterval() * 8) } }
        func run(seed: UInt64) -> [Int32] {
            var p = SamplingParameters()
            p.seed = seed
            p.repeatPenalty = 1.1
            var s = Sampler(p)
            return rows.map { row in row.withUnsafeBufferPointer { s.sample($0) } }
        }
        #expect(run(seed: 42) == run(seed: 42))
        #expect(run(seed: 42) != run(seed: 43))
        var again = Sampler({ var p = SamplingParameters(); p.seed = 42; p.repeatPenalty = 1.1; return p }())
        _ = rows.map { row in row.withUnsafeBufferPointer { again.sample($0) } }
        again.reset()
        #expect(rows.map { row in row.withUnsafeBufferPointer { again.sample($0) } } == run(seed: 42))
    }

    /// A grammar constraint goes after the penalties (each changes tokens one by one, so their order does not
    /// matter) and before the filters, and learns how many candidates the next stage keeps; with ties at the
    /// top-k boundary it keeps the lower ids, as top-k after a full mask does.
    @Test func aPrependedGrammarConstraintKeepsTheBestAllowedCandidates() throws {
        var p = SamplingParameters()
        p.repeatPenalty = 1.3
        p.topK = 2
        var s = Sampler(p)
        let trie = TokenTrie(pieces: [[0x61], [0x62], [0x63], [0x61, 0x61], [0x64], []], endOfGenerationTokens: [5])
        s.prepend(GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= [ab]+ | "c""#), trie: trie))
        #expect(s.stages[0] is PenaltyStage)
        let constraint = try #require(s.stages[1] as? GrammarConstraint)
        #expect(constraint.candidatesNeeded == 2)
        // "aa" (3) and "d" (4) lead; "d" is not allowed; "b" (1) and "c" (2) tie behind "aa".
        var c = candidates([0, 1, 1, 4, 5, 0])
        var stage = constraint
        stage.apply(to: &c)
        #expect(c.ids == [3, 1] && c.logits == [4, 1] && c.isSortedDescending)
    }

    /// A constraint is one more stage: what it masks is never sampled, at any temperature.
    @Test func aPrependedConstraintMasksLogits() {
        struct EvenOnly: SamplerStage {
            mutating func apply(to c: inout TokenCandidates) {
                for i in 0..<c.count where c.ids[i] % 2 == 1 { c.logits[i] = -.infinity }
            }
        }
        var p = SamplingParameters()
        p.temperature = 1.5
        p.topK = 0
        p.minP = 0
        p.seed = 9
        var s = Sampler(p)
        s.prepend(EvenOnly())
        let logits: [Float] = [0, 5, 0.5, 5, 1, 5]
        for _ in 0..<500 { #expect(logits.withUnsafeBufferPointer { s.sample($0) } % 2 == 0) }
    }
}
