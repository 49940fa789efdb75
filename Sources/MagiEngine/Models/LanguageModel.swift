/// A decoder-only language model: immutable weights inside a mapped GGUF file plus the forward pass
/// of one architecture. Each architecture is one file in `Models/` that conforms to this protocol
/// and adds itself to ``ModelArchitectures``; nothing outside the engine names a concrete model.
///
/// Per-sequence state (the KV cache, scratch buffers, worker threads) lives in ``InferenceSession``.
public protocol LanguageModel: AnyObject, Sendable {
    /// The GGUF file the weights are mapped from.
    var file: GGUFFile { get }
    /// The sizes the runtime allocates by: cache geometry, vocabulary, trained window.
    var shape: ModelShape { get }
    /// A 64-bit hash that tells models apart for session snapshots (hyperparameters, tensor table,
    /// the first bytes of every tensor).
    var fingerprint: UInt64 { get }
    /// Bytes of weights one decoded token reads.
    var weightBytesPerToken: Int { get }
    /// Multiply-adds of one token's pass through the weight matrices (attention over the context
    /// not counted).
    var multiplyAddsPerToken: Int { get }

    /// Runs `tokens` (already checked against the vocabulary) at positions `state.cache.count...`,
    /// appends their keys and values to the cache, and writes logits into `logits`: the last
    /// token's when `allLogits` is false, else one row of `vocabularySize` per token.
    func forward(_ tokens: UnsafeBufferPointer<Int32>, state: ForwardState, allLogits: Bool,
                 logits: UnsafeMutablePointer<Float>)

    /// Moves `count` cached positions from `source` down to `destination`, re-encoding their
    /// keys for the new positions (for context shifting).
    func moveCachedPositions(_ state: ForwardState, from source: Int, to destination: Int, count: Int)
}

extension LanguageModel {
    /// Bytes of weights the model maps.
    public var weightBytes: Int { file.tensors.reduce(0) { $0 + $1.byteCount } }
}

/// The sizes of a model that the runtime allocates by, whatever its architecture.
public struct ModelShape: Sendable, Equatable {
    /// `general.architecture` of the file.
    public var architecture: String
    public var layerCount: Int
    public var embeddingSize: Int
    public var feedForwardSize: Int
    public var headCount: Int
    public var kvHeadCount: Int
    /// Size of a query/key head (llama: `attention.key_length`, else embedding / heads).
    public var headSize: Int
    /// Size of a value head (llama: `attention.value_length`, else `headSize`).
    public var valueSize: Int
    /// Positions the model was trained for.
    public var contextLength: Int
    public var vocabularySize: Int

    /// Bytes the KV cache takes per position: every layer's keys and values, in `type`.
    public func kvCacheBytesPerToken(_ type: KVCacheType) -> Int {
        layerCount * kvHeadCount * (type.rowBytes(headSize) + type.rowBytes(valueSize))
    }
}

/// The per-sequence buffers a forward pass works in: the KV cache, scratch space sized for the
/// model's shape, and the matrix multiplier with its worker threads. Opaque outside the engine.
// Sendable by hand: owned by one ``InferenceSession``, which one caller drives at a time.
public final class ForwardState: @unchecked Sendable {
    let cache: KVCache
    let scratch: ForwardScratch
    let multiplier: MatrixMultiplier

    init(shape: ModelShape, contextSize: Int, maxBatch: Int, cacheType: KVCacheType, pool: ThreadPool) {
        cache = KVCache(type: cacheType, capacity: contextSize, layers: shape.layerCount, kvHeads: shape.kvHeadCount,
                        keySize: shape.headSize, valueSize: shape.valueSize)
        scratch = ForwardScratch(shape: shape, contextSize: contextSize, maxBatch: maxBatch, cacheType: cacheType)
        multiplier = MatrixMultiplier(pool: pool)
    }
}

/// The architectures magi runs, by their `general.architecture` name.
public enum ModelArchitectures {
    /// Each architecture's loader. A new architecture is a new file in `Models/` and one line here.
    private static let loaders: [String: @Sendable (GGUFFile) throws -> any LanguageModel] = [
        "llama": { try LlamaModel(file: $0) },
    ]

    /// Architecture names magi runs, sorted.
    public static var supported: [String] { loaders.keys.sorted() }

    /// Loads the model in `file` with the loader of its architecture.
    /// - Throws: ``ModelError/unsupportedArchitecture(_:)`` for an architecture magi does not run,
    ///   or the loader's error for a missing or misshapen tensor.
    public static func load(_ file: GGUFFile) throws -> any LanguageModel {
        let name = try file.string("general.architecture")
        guard let load = loaders[name] else { throw ModelError.unsupportedArchitecture(name) }
        return try load(file)
    }

    /// Opens the GGUF file at `path` and loads the model in it.
    public static func load(path: String) throws -> any LanguageModel {
        try load(GGUFFile(path: path))
    }
}
