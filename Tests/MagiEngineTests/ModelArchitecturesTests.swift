import Foundation
import MagiEngine
import Testing

/// Models are loaded by their `general.architecture`, through the `LanguageModel` protocol.
@Suite struct ModelArchitecturesTests {
    @Test func refusesAnArchitectureItDoesNotRunNamingTheOnesItDoes() throws {
        var b = GGUFBuilder()
        b.header(tensors: 0, keys: 1)
        b.string("general.architecture"); b.u32(8); b.string("qwen3")
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ModelArchitectures.supported == ["llama"])
        let error = try #require(throws: ModelError.self) { try ModelArchitectures.load(path: path) }
        #expect(error.description == #"model architecture "qwen3" is not supported (magi runs: llama)"#)
    }

    /// The protocol's shape is what the runtime allocates by: the default model's, as its GGUF
    /// metadata states it (SmolLM2-135M: 30 layers, 576 wide, 9 heads of 64, 3 for keys and values).
    @Test(.enabled(if: TestEnvironment.hasModel)) func loadsTheDefaultModelThroughTheProtocol() throws {
        let model = try ModelArchitectures.load(path: TestEnvironment.modelPath)
        let file = model.file
        let shape = model.shape
        #expect(shape.architecture == "llama")
        #expect(shape.layerCount == (try file.int("llama.block_count")))
        #expect(shape.embeddingSize == (try file.int("llama.embedding_length")))
        #expect(shape.headCount == (try file.int("llama.attention.head_count")))
        #expect(shape.kvHeadCount == (try file.int("llama.attention.head_count_kv")))
        #expect(shape.headSize == shape.embeddingSize / shape.headCount)
        #expect(shape.vocabularySize == file.tensor("token_embd.weight")?.shape.last)
        let session = InferenceSession(model: model, contextSize: 32, threads: 2)
        #expect(try session.evaluate([1, 2, 3]).count == shape.vocabularySize)
        #expect(session.cacheBytes == 32 * shape.kvCacheBytesPerToken(.f16))
    }
}
