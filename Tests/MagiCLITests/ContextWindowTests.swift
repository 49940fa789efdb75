import Foundation
import MagiChat
import MagiEngine
import Testing
@testable import MagiCLI

/// The window size from `-c`, the model and its card, capped by memory.
@Suite struct ContextWindowTests {
    static let modelPath = CommandLineTests.magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Test(.enabled(if: CommandLineTests.hasModel)) func theWindowFollowsTheFlagTheCardAndMemory() throws {
        let model = try LlamaModel(path: Self.modelPath)
        let c = model.configuration
        let plenty = 64 << 30
        // No flag, no card: the trained length, at most 4096.
        #expect(ContextWindow(requested: nil, model: model, recommended: nil, cacheType: .f16, physicalMemory: plenty)
                == ContextWindow(size: min(c.contextLength, 4096)))
        // A card's limit is the default, and a request past it is warned about.
        let card = RecommendedSettings.magistralSmall12
        #expect(ContextWindow(requested: nil, model: model, recommended: card, cacheType: .f16, physicalMemory: plenty).size
                == min(c.contextLength, 40_000))
        let past = ContextWindow(requested: 6000, model: model, recommended: RecommendedSettings(
            model: "Card", systemMessage: .system("s"), temperature: 0.7, topP: 0.95, minP: nil, contextQualityLimit: 5000),
            cacheType: .f16, physicalMemory: plenty)
        #expect(past.size == 6000 && past.notices == ["Card's model card advises at most 5000 tokens of context: quality drops past them"])
        let beyond = ContextWindow(requested: c.contextLength * 2, model: model, recommended: nil, cacheType: .f16, physicalMemory: plenty)
        #expect(beyond.size == c.contextLength * 2 && beyond.notices.first?.contains("beyond the \(c.contextLength) tokens") == true)
        // Memory: the cache may take what is left beside the weights and a reserve.
        let perToken = c.layerCount * c.kvHeadCount * (c.headSize + c.valueSize) * 2
        let tight = model.weightBytes + ContextWindow.reserve + 1000 * perToken
        let capped = ContextWindow(requested: 4096, model: model, recommended: nil, cacheType: .f16, physicalMemory: tight)
        #expect(capped.size == 1000 && capped.notices.count == 1 && capped.notices[0].hasPrefix("context capped at 1000 tokens"))
        let f32 = ContextWindow(requested: 4096, model: model, recommended: nil, cacheType: .f32, physicalMemory: tight)
        #expect(f32.size == 500)
    }
}
