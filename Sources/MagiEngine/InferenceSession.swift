import CBLAS
import Foundation

/// A model plus the state of one token sequence: the KV cache, scratch buffers and worker threads.
///
/// Not thread-safe: one caller drives a session at a time (the generator runs it on its own task).
// Sendable by hand: one caller drives a session at a time (the generator's thread while it runs, as ``generate(_:sampler:stop:)`` documents); it crosses tasks between turns, never during one.
public final class InferenceSession: @unchecked Sendable {
    public let model: any LanguageModel
    /// Positions the KV cache holds.
    public let contextSize: Int
    /// Most tokens evaluated in one forward pass; longer inputs are split.
    public let batchSize: Int
    public var threadCount: Int { pool.threadCount }
    /// Tokens whose keys and values are in the cache, in order.
    public internal(set) var tokens: [Int32] = []
    /// The snapshot file this session last read or wrote, so a save there appends.
    var savedFile: SavedSnapshotFile?

    let pool: ThreadPool
    private let state: ForwardState
    var cache: KVCache { state.cache }
    private let lastLogits: UnsafeMutableBufferPointer<Float>

    /// Creates a session. `contextSize` defaults to the smaller of the model's trained length and 4096;
    /// `threads` defaults to the number of cores; the cache holds half-precision keys and values
    /// unless `cacheType` says otherwise.
    public init(model: any LanguageModel, contextSize: Int? = nil, threads: Int? = nil, batchSize: Int = 512,
                cacheType: KVCacheType = .f16) {
        let c = model.shape
        self.model = model
        self.contextSize = max(1, contextSize ?? min(c.contextLength, 4096))
        self.batchSize = max(1, min(batchSize, self.contextSize))
        let threadCount = max(1, threads ?? Self.coreCount)
        pool = ThreadPool(threadCount: threadCount)
        openblas_set_num_threads(Int32(threadCount))
        state = ForwardState(shape: c, contextSize: self.contextSize, maxBatch: self.batchSize, cacheType: cacheType, pool: pool)
        lastLogits = .allocate(capacity: c.vocabularySize)
        lastLogits.initialize(repeating: 0)
    }

    deinit { lastLogits.deallocate() }

    /// Online cores, as the scheduler reports them.
    public static var coreCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    public var vocabularySize: Int { model.shape.vocabularySize }
    /// Bytes the KV cache occupies.
    public var cacheBytes: Int { cache.byteCount }
    public var cacheType: KVCacheType { cache.type }

    /// Evaluates `newTokens` after the cached ones and returns the logits after the last of them.
    /// The buffer is the session's own and is overwritten by the next call.
    @discardableResult
    public func evaluate(_ newTokens: [Int32]) throws -> UnsafeMutableBufferPointer<Float> {
        try check(newTokens)
        var start = 0
        while start < newTokens.count {
            let end = min(newTokens.count, start + batchSize)
            newTokens[start..<end].withUnsafeBufferPointer { chunk in
                model.forward(chunk, state: state, allLogits: false, logits: lastLogits.baseAddress!)
            }
            tokens.append(contentsOf: newTokens[start..<end])
            start = end
        }
        return lastLogits
    }

    /// Evaluates `newTokens` after the cached ones and returns the logits after every one of them,
    /// `newTokens.count × vocabularySize` values row by row (for perplexity).
    public func evaluateAll(_ newTokens: [Int32]) throws -> [Float] {
        try check(newTokens)
        let v = vocabularySize
        var all = [Float](repeating: 0, count: newTokens.count * v)
        var start = 0
        all.withUnsafeMutableBufferPointer { out in
            while start < newTokens.count {
                let end = min(newTokens.count, start + batchSize)
                newTokens[start..<end].withUnsafeBufferPointer { chunk in
                    model.forward(chunk, state: state, allLogits: true, logits: out.baseAddress! + start * v)
                }
                tokens.append(contentsOf: newTokens[start..<end])
                start = end
            }
        }
        return all
    }

    /// Forgets every position from `count` on, keeping the prefix for reuse.
    public func rewind(to count: Int) {
        let keep = max(0, min(count, tokens.count))
        tokens.removeSubrange(keep...)
        cache.count = keep
    }

    /// Empties the cache.
    public func reset() { rewind(to: 0) }

    /// Frees room in a full window: keeps the first `keeping` tokens, forgets the `discarding`
    /// after them, and moves the rest down, re-rotating their keys to their new positions (RoPE
    /// rotations compose, so no recomputation is needed).
    public func shiftContext(keeping: Int, discarding: Int) {
        let keep = max(0, min(keeping, tokens.count)), drop = max(0, min(discarding, tokens.count - keep))
        guard drop > 0 else { return }
        model.moveCachedPositions(state, from: keep + drop, to: keep, count: tokens.count - keep - drop)
        tokens.removeSubrange(keep..<keep + drop)
        cache.count = tokens.count
    }

    private func check(_ newTokens: [Int32]) throws {
        guard !newTokens.isEmpty else { throw ModelError.emptyInput }
        guard tokens.count + newTokens.count <= contextSize else { throw ModelError.contextFull(limit: contextSize) }
        let v = vocabularySize
        if let bad = newTokens.first(where: { $0 < 0 || Int($0) >= v }) {
            throw ModelError.invalidToken(bad, vocabularySize: v)
        }
    }
}
