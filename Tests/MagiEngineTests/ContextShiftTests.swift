import Foundation
@testable import MagiEngine
import Testing

/// Shifting the window: positions move down and keys are re-rotated, so what remains is what the
/// model would have cached had the dropped tokens never been there (exactly so in the first layer,
/// whose keys and values depend on the tokens alone).
@Suite(.serialized) struct ContextShiftTests {
    @Test(.enabled(if: TestEnvironment.hasModel), arguments: KVCacheType.allCases)
    func shiftedKeysEqualKeysComputedAtTheNewPositions(type: KVCacheType) throws {
        let model = try LlamaModel(path: TestEnvironment.modelPath)
        let kept: [Int32] = [1, 9690, 198, 2683]
        let dropped: [Int32] = [359, 253, 5356, 5646, 11173, 3365]
        let rest: [Int32] = [3511, 308, 34519, 28, 7018, 411, 407]
        let shifted = InferenceSession(model: model, contextSize: 64, threads: 1, cacheType: type)
        try shifted.evaluate(kept + dropped + rest)
        shifted.shiftContext(keeping: kept.count, discarding: dropped.count)
        #expect(shifted.tokens == kept + rest)
        let fresh = InferenceSession(model: model, contextSize: 64, threads: 1, cacheType: type)
        try fresh.evaluate(kept + rest)
        let c = model.configuration
        var worst: Float = 0, scale: Float = 0
        let scratchA = UnsafeMutablePointer<Float>.allocate(capacity: 64 * c.headSize)
        let scratchB = UnsafeMutablePointer<Float>.allocate(capacity: 64 * c.headSize)
        defer { scratchA.deallocate(); scratchB.deallocate() }
        for head in 0..<c.kvHeadCount {
            let n = kept.count + rest.count
            let a = shifted.cache.floatRows(shifted.cache.keys(layer: 0, head: head), rows: n, width: c.headSize, scratch: scratchA)
            let b = fresh.cache.floatRows(fresh.cache.keys(layer: 0, head: head), rows: n, width: c.headSize, scratch: scratchB)
            for i in 0..<n * c.headSize {
                worst = max(worst, abs(a[i] - b[i]))
                scale = max(scale, abs(b[i]))
            }
        }
        // Half precision keeps 11 bits; a rotation round trip through it costs a few units of the last
        // place. Eight bits keep a 127th of a block's largest value, and the round trip rounds twice.
        let tolerance: Float = switch type { case .f32: 1e-5; case .f16: 4e-3; case .q8_0: 2e-2 }
        #expect(worst <= scale * tolerance, "\(type): worst difference \(worst) of \(scale)")
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func generationShiftsPastAFullWindow() throws {
        let s = InferenceSession(model: try LlamaModel(path: TestEnvironment.modelPath), contextSize: 48, threads: 2)
        var produced: [Int32] = []
        let request = GenerationRequest(prompt: [1, 4093, 198, 19556, 2], sampling: .greedy, maxTokens: 120, contextShiftKeep: 2)
        let summary = try s.runGeneration(request, sampler: Sampler(.greedy)) { produced.append($0) }
        #expect(summary.reason == .maxTokens && produced.count == 120)
        #expect(s.tokens.count <= 48 && Array(s.tokens.prefix(2)) == [1, 4093])
        let without = InferenceSession(model: s.model, contextSize: 48, threads: 2)
        let stopped = try without.runGeneration(GenerationRequest(prompt: [1, 4093, 198, 19556, 2], sampling: .greedy, maxTokens: 120),
                                                sampler: Sampler(.greedy)) { _ in }
        // The window holds the prompt and 43 answer tokens; the 44th is sampled from the last logits.
        #expect(stopped.reason == .contextFull && stopped.generatedTokens == 48 - 5 + 1)
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func aStopRequestEndsPromptProcessingBetweenBatches() throws {
        let s = InferenceSession(model: try LlamaModel(path: TestEnvironment.modelPath), contextSize: 256, threads: 2, batchSize: 32)
        var polls = 0
        let prompt = [Int32](repeating: 504, count: 200)
        let summary = try s.runGeneration(GenerationRequest(prompt: prompt, sampling: .greedy, maxTokens: 5),
                                          sampler: Sampler(.greedy), shouldStop: { polls += 1; return polls > 2 }) { _ in }
        #expect(summary.reason == .cancelled && summary.generatedTokens == 0)
        #expect(s.tokens.count == 64, "two batches of 32 evaluated before the stop")
    }
}
