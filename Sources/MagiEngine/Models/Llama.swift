import CBLAS
import Foundation
import MagiKernels

// The llama architecture as Llama, Mistral/Magistral and SmolLM2 use it: token embedding,
// RMSNorm, rotary positions, grouped-query attention, SwiGLU feed-forward, tied or separate output.

/// One transformer block's weights.
private struct LlamaBlock {
    let attentionNorm: [Float]
    let query, key, value, attentionOutput: WeightMatrix
    let feedForwardNorm: [Float]
    let gate, up, down: WeightMatrix
    /// The matrices decode multiplies together, grouped once so the decode loop builds no arrays.
    let queryKeyValue: [WeightMatrix]
    let gateUp: [WeightMatrix]

    init(attentionNorm: [Float], query: WeightMatrix, key: WeightMatrix, value: WeightMatrix, attentionOutput: WeightMatrix,
         feedForwardNorm: [Float], gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix) {
        self.attentionNorm = attentionNorm
        self.query = query; self.key = key; self.value = value; self.attentionOutput = attentionOutput
        self.feedForwardNorm = feedForwardNorm
        self.gate = gate; self.up = up; self.down = down
        queryKeyValue = [query, key, value]
        gateUp = [gate, up]
    }
}

/// A llama-family model: weights inside the mapped GGUF file plus its hyperparameters.
/// Immutable and shareable; per-conversation state lives in `InferenceSession`.
// Sendable by hand: immutable after `init`; the weights are read-only pointers into the mapped file.
public final class LlamaModel: LanguageModel, @unchecked Sendable {
    public let file: GGUFFile
    public let configuration: LlamaConfiguration
    public var shape: ModelShape { configuration.shape }
    let tokenEmbedding: WeightMatrix
    let outputNorm: [Float]
    let output: WeightMatrix
    fileprivate let blocks: [LlamaBlock]
    let rope: RotaryEmbedding

    /// Reads the configuration and locates every weight; fails on a missing or misshapen tensor.
    public init(file: GGUFFile) throws {
        let c = try LlamaConfiguration(file: file)
        self.file = file
        configuration = c
        tokenEmbedding = try WeightMatrix(file: file, name: "token_embd.weight", rows: c.vocabularySize, columns: c.embeddingSize)
        outputNorm = try Self.vector(file, "output_norm.weight", count: c.embeddingSize)
        output = file.tensor("output.weight") == nil
            ? tokenEmbedding
            : try WeightMatrix(file: file, name: "output.weight", rows: c.vocabularySize, columns: c.embeddingSize)
        let qSize = c.headCount * c.headSize, kvSize = c.kvHeadCount * c.headSize, vSize = c.kvHeadCount * c.valueSize
        blocks = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return LlamaBlock(
                attentionNorm: try Self.vector(file, p + "attn_norm.weight", count: c.embeddingSize),
                query: try WeightMatrix(file: file, name: p + "attn_q.weight", rows: qSize, columns: c.embeddingSize),
                key: try WeightMatrix(file: file, name: p + "attn_k.weight", rows: kvSize, columns: c.embeddingSize),
                value: try WeightMatrix(file: file, name: p + "attn_v.weight", rows: vSize, columns: c.embeddingSize),
                attentionOutput: try WeightMatrix(file: file, name: p + "attn_output.weight", rows: c.embeddingSize, columns: c.headCount * c.valueSize),
                feedForwardNorm: try Self.vector(file, p + "ffn_norm.weight", count: c.embeddingSize),
                gate: try WeightMatrix(file: file, name: p + "ffn_gate.weight", rows: c.feedForwardSize, columns: c.embeddingSize),
                up: try WeightMatrix(file: file, name: p + "ffn_up.weight", rows: c.feedForwardSize, columns: c.embeddingSize),
                down: try WeightMatrix(file: file, name: p + "ffn_down.weight", rows: c.embeddingSize, columns: c.feedForwardSize))
        }
        let factors = file.tensor("rope_freqs.weight") == nil
            ? nil : try Self.vector(file, "rope_freqs.weight", count: c.ropeDimensions / 2)
        rope = RotaryEmbedding(dimensions: c.ropeDimensions, base: c.ropeBase,
                               frequencyScale: c.ropeFrequencyScale, frequencyFactors: factors)
    }

    /// Opens the GGUF file at `path` and loads the model in it.
    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    /// Bytes of weights one decoded token reads: every matrix once, but of the token embedding only
    /// its row, unless it also serves as the output matrix.
    public var weightBytesPerToken: Int {
        let embedding = file.tensor("token_embd.weight")?.byteCount ?? 0
        return file.tensor("output.weight") == nil ? weightBytes : weightBytes - embedding
    }

    /// Every matrix's elements, but the token embedding's only when it is also the output matrix
    /// (otherwise a token reads one row of it and multiplies nothing).
    public var multiplyAddsPerToken: Int {
        let all = file.tensors.filter { $0.shape.count == 2 }.reduce(0) { $0 + $1.elementCount }
        let embedding = file.tensor("token_embd.weight")?.elementCount ?? 0
        return file.tensor("output.weight") == nil ? all : all - embedding
    }

    private static func vector(_ file: GGUFFile, _ name: String, count: Int) throws -> [Float] {
        guard let t = file.tensor(name) else { throw GGUFError.missingTensor(name) }
        guard t.elementCount == count else { throw GGUFError.tensorShapeMismatch(name: name, expected: [count], found: t.shape) }
        guard t.type.isSupported else { throw ModelError.unsupportedTensorType(name: name, type: t.type.name) }
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { magi_dequantize(Int32(t.type.rawValue), file.data(of: t), $0.baseAddress!, Int64(count)) }
        return out
    }

    // MARK: Forward pass

    public func forward(_ tokens: UnsafeBufferPointer<Int32>, state: ForwardState, allLogits: Bool,
                        logits: UnsafeMutablePointer<Float>) {
        if tokens.count == 1 {
            decode(tokens[0], cache: state.cache, s: state.scratch, mm: state.multiplier, logits: logits)
        } else {
            prefill(tokens, cache: state.cache, s: state.scratch, mm: state.multiplier, allLogits: allLogits, logits: logits)
        }
    }

    public func moveCachedPositions(_ state: ForwardState, from source: Int, to destination: Int, count: Int) {
        state.cache.shift(from: source, to: destination, count: count, rope: rope)
    }

    /// One token: integer matrix-vector kernels on 8-bit activations.
    private func decode(_ token: Int32, cache: KVCache, s: ForwardScratch, mm: MatrixMultiplier,
                        logits: UnsafeMutablePointer<Float>) {
        let c = configuration
        let d = c.embeddingSize, position = cache.count
        let x = s.hidden, xn = s.normed
        tokenEmbedding.dequantize(rows: Int(token)..<Int(token) + 1, into: x)
        for (layer, b) in blocks.enumerated() {
            TensorMath.rmsNorm(x, weight: b.attentionNorm, epsilon: c.rmsEpsilon, count: d, into: xn)
            mm.matvec(b.queryKeyValue, xn, into: s.queryKeyValue)
            rope.apply(s.query, heads: c.headCount, and: s.keyRow, heads: c.kvHeadCount, headSize: c.headSize, position: position)
            cache.store(keys: s.keyRow, values: s.valueRow, layer: layer, position: position)
            attendOne(layer: layer, position: position, cache: cache, s: s, pool: mm.pool)
            mm.matvec(b.attentionOutput, s.attention, into: xn)
            TensorMath.add(xn, into: x, count: d)
            TensorMath.rmsNorm(x, weight: b.feedForwardNorm, epsilon: c.rmsEpsilon, count: d, into: xn)
            mm.matvec(b.gateUp, xn, into: s.gateUp)
            TensorMath.swiglu(gate: s.gate, up: s.up, count: c.feedForwardSize)
            mm.matvec(b.down, s.gate, into: xn)
            TensorMath.add(xn, into: x, count: d)
        }
        cache.count = position + 1
        TensorMath.rmsNorm(x, weight: outputNorm, epsilon: c.rmsEpsilon, count: d, into: xn)
        mm.matvec(output, xn, into: logits)
    }

    /// Attention of one query (all heads) over every cached position up to `position`.
    private func attendOne(layer: Int, position: Int, cache: KVCache, s: ForwardScratch, pool: ThreadPool) {
        let c = configuration
        let total = position + 1, group = c.headCount / c.kvHeadCount
        let scale = 1 / Float(c.headSize).squareRoot()
        pool.parallelFor(c.headCount) { heads in
            for h in heads {
                let g = h / group
                var q = UnsafeRawPointer(s.query + h * c.headSize)
                let scores = s.scores + h * cache.capacity
                if cache.type == .q8_0 {
                    // 8-bit keys take the query in 8 bits too, as a Q8_0 weight row takes activations.
                    let quantized = s.quantizedQuery + h * cache.keyRowBytes
                    magi_quantize_activation(cache.type.tensorType, q.assumingMemoryBound(to: Float.self), quantized, Int64(c.headSize))
                    q = UnsafeRawPointer(quantized)
                }
                magi_matvec(cache.type.tensorType, cache.keys(layer: layer, head: g), cache.keyRowBytes,
                            Int64(c.headSize), q, scores, 0, Int64(total))
                for t in 0..<total { scores[t] *= scale }
                TensorMath.softmax(scores, count: total)
                magi_weighted_sum(cache.type.tensorType, cache.values(layer: layer, head: g), cache.valueRowBytes,
                                  Int64(total), Int64(c.valueSize), scores, s.attention + h * c.valueSize)
            }
        }
    }

    /// A batch of tokens: matrix-matrix products (integer gemm, or sgemm on dequantized weights).
    private func prefill(_ tokens: UnsafeBufferPointer<Int32>, cache: KVCache, s: ForwardScratch,
                         mm: MatrixMultiplier, allLogits: Bool, logits: UnsafeMutablePointer<Float>) {
        let c = configuration
        let n = tokens.count, d = c.embeddingSize, start = cache.count
        let qSize = c.headCount * c.headSize, kvSize = c.kvHeadCount * c.headSize
        let vSize = c.kvHeadCount * c.valueSize
        let x = s.batchHidden, xn = s.batchNormed
        for (i, t) in tokens.enumerated() {
            tokenEmbedding.dequantize(rows: Int(t)..<Int(t) + 1, into: x + i * d)
        }
        for (layer, b) in blocks.enumerated() {
            mm.pool.parallelFor(n) { rows in
                for i in rows { TensorMath.rmsNorm(x + i * d, weight: b.attentionNorm, epsilon: c.rmsEpsilon, count: d, into: xn + i * d) }
            }
            mm.gemm([b.query, b.key, b.value], xn, batch: n, into: [s.batchQuery, s.batchKey, s.batchValue],
                    ldy: [qSize, kvSize, vSize])
            mm.pool.parallelFor(n) { rows in
                for i in rows {
                    rope.apply(s.batchQuery + i * qSize, heads: c.headCount, and: s.batchKey + i * kvSize, heads: c.kvHeadCount,
                               headSize: c.headSize, position: start + i)
                }
            }
            for i in 0..<n {
                cache.store(keys: s.batchKey + i * kvSize, values: s.batchValue + i * vSize, layer: layer, position: start + i)
            }
            attendBatch(layer: layer, start: start, count: n, cache: cache, s: s, mm: mm)
            mm.gemm(b.attentionOutput, s.batchAttention, batch: n, into: x, ldy: d, accumulate: true)
            mm.pool.parallelFor(n) { rows in
                for i in rows { TensorMath.rmsNorm(x + i * d, weight: b.feedForwardNorm, epsilon: c.rmsEpsilon, count: d, into: xn + i * d) }
            }
            // The feed-forward network a part of its rows at a time; each part's down projection
            // (those columns of it) is added to the residual.
            let f = c.feedForwardSize
            for f0 in stride(from: 0, to: f, by: s.feedForwardPart) {
                let part = f0..<min(f, f0 + s.feedForwardPart), w = part.count
                mm.gemm([b.gate.rows(part), b.up.rows(part)], xn, batch: n, into: [s.batchGate, s.batchUp], ldy: [w, w])
                mm.pool.parallelFor(n) { rows in
                    for i in rows { TensorMath.swiglu(gate: s.batchGate + i * w, up: s.batchUp + i * w, count: w) }
                }
                mm.gemm(b.down.columns(part), s.batchGate, batch: n, into: x, ldy: d, accumulate: true)
            }
        }
        cache.count = start + n
        let first = allLogits ? 0 : n - 1
        let rows = n - first
        mm.pool.parallelFor(rows) { r in
            for i in r { TensorMath.rmsNorm(x + (first + i) * d, weight: outputNorm, epsilon: c.rmsEpsilon, count: d, into: xn + i * d) }
        }
        mm.gemm(output, xn, batch: rows, into: logits, ldy: c.vocabularySize)
    }

    /// Causal attention of `count` new queries (positions start…) over the cache. Jobs of one
    /// head and up to 64 queries go round the pool; each runs two single-threaded `sgemm`s over
    /// the keys and values its queries can see.
    private func attendBatch(layer: Int, start: Int, count n: Int, cache: KVCache, s: ForwardScratch, mm: MatrixMultiplier) {
        let c = configuration
        let group = c.headCount / c.kvHeadCount, hs = c.headSize, vs = c.valueSize
        let qSize = c.headCount * hs, oSize = c.headCount * vs
        let scale = 1 / Float(hs).squareRoot()
        let chunk = 64, chunks = (n + chunk - 1) / chunk, jobs = c.headCount * chunks
        let total = start + n
        let perThread = chunk * total + (cache.type == .f32 ? 0 : total * (hs + vs))
        let (scratch, stride) = mm.threadScratch(floats: perThread)
        let threads = mm.pool.threadCount
        mm.pool.run { t in
            let scores = scratch + t * stride
            let keyBuffer = scores + chunk * total, valueBuffer = keyBuffer + total * hs
            var job = t
            while job < jobs {
                // chunk-major order: a chunk's heads are spread over the threads, and the later
                // (longer) chunks alternate between them
                let h = job % c.headCount, q0 = (job / c.headCount) * chunk
                let g = h / group, qn = min(chunk, n - q0), visible = start + q0 + qn
                let keys = cache.floatRows(cache.keys(layer: layer, head: g), rows: visible, width: hs, scratch: keyBuffer)
                let values = cache.floatRows(cache.values(layer: layer, head: g), rows: visible, width: vs, scratch: valueBuffer)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(qn), Int32(visible), Int32(hs),
                            scale, s.batchQuery + q0 * qSize + h * hs, Int32(qSize), keys, Int32(hs), 0, scores, Int32(visible))
                for i in 0..<qn {
                    let row = scores + i * visible, seen = start + q0 + i + 1
                    TensorMath.softmax(row, count: seen)
                    if seen < visible { (row + seen).initialize(repeating: 0, count: visible - seen) }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(qn), Int32(vs), Int32(visible),
                            1, scores, Int32(visible), values, Int32(vs), 0, s.batchAttention + q0 * oSize + h * vs, Int32(oSize))
                job += threads
            }
        }
    }
}

/// Hyperparameters of a llama-family model, read from GGUF metadata under the architecture's prefix.
@dynamicMemberLookup
public struct LlamaConfiguration: Sendable, Equatable {
    /// Architecture names whose GGUF layout this file runs.
    public static let architectures: Set<String> = ["llama"]

    /// The sizes the runtime allocates by; read through the configuration (`configuration.headCount`).
    public var shape: ModelShape
    public var ropeDimensions: Int
    public var ropeBase: Double
    /// Position scale for linear RoPE scaling (1 / factor); 1 when unscaled.
    public var ropeFrequencyScale: Double
    public var rmsEpsilon: Float

    public subscript<Value>(dynamicMember size: KeyPath<ModelShape, Value>) -> Value { shape[keyPath: size] }

    public init(file: GGUFFile) throws {
        let arch = try file.string("general.architecture")
        guard Self.architectures.contains(arch) else { throw ModelError.unsupportedArchitecture(arch) }
        func key(_ k: String) -> String { "\(arch).\(k)" }
        func positive(_ k: String, _ v: Int) throws -> Int {
            guard v > 0, v < 1 << 24 else { throw ModelError.invalidHyperparameter(key: key(k), reason: "is \(v), expected a positive size") }
            return v
        }
        let layerCount = try positive("block_count", file.int(key("block_count")))
        // Layers are sized and allocated by this count, so it is checked against the tensor table first.
        let blocksInTable = file.tensors.count(where: { $0.name.hasPrefix("blk.") && $0.name.hasSuffix(".attn_norm.weight") })
        guard layerCount <= blocksInTable else {
            throw ModelError.invalidHyperparameter(key: key("block_count"), reason: "is \(layerCount), but the tensor table holds \(blocksInTable) blocks")
        }
        let embeddingSize = try positive("embedding_length", file.int(key("embedding_length")))
        let feedForwardSize = try positive("feed_forward_length", file.int(key("feed_forward_length")))
        let headCount = try positive("attention.head_count", file.int(key("attention.head_count")))
        let kvHeadCount = try positive("attention.head_count_kv", file.optionalInt(key("attention.head_count_kv")) ?? headCount)
        guard headCount % kvHeadCount == 0 else {
            throw ModelError.invalidHyperparameter(key: key("attention.head_count_kv"), reason: "is \(kvHeadCount), which does not divide the \(headCount) query heads")
        }
        let headSize = try positive("attention.key_length", file.optionalInt(key("attention.key_length")) ?? embeddingSize / headCount)
        let valueSize = try positive("attention.value_length", file.optionalInt(key("attention.value_length")) ?? headSize)
        ropeDimensions = try positive("rope.dimension_count", file.optionalInt(key("rope.dimension_count")) ?? headSize)
        guard ropeDimensions <= headSize, ropeDimensions % 2 == 0 else {
            throw ModelError.invalidHyperparameter(key: key("rope.dimension_count"), reason: "is \(ropeDimensions), expected an even number up to the head size \(headSize)")
        }
        ropeBase = try file.optionalDouble(key("rope.freq_base")) ?? 10_000
        guard ropeBase > 1 else { throw ModelError.invalidHyperparameter(key: key("rope.freq_base"), reason: "is \(ropeBase)") }
        let scalingType = try file.optionalString(key("rope.scaling.type")) ?? "none"
        let factor = try file.optionalDouble(key("rope.scaling.factor")) ?? 1
        switch scalingType {
        case "none": ropeFrequencyScale = 1
        case "linear":
            guard factor > 0 else { throw ModelError.invalidHyperparameter(key: key("rope.scaling.factor"), reason: "is \(factor)") }
            ropeFrequencyScale = 1 / factor
        default:
            throw ModelError.invalidHyperparameter(key: key("rope.scaling.type"), reason: "is \(scalingType.debugDescription), which magi does not support yet (none, linear)")
        }
        rmsEpsilon = Float(try file.optionalDouble(key("attention.layer_norm_rms_epsilon")) ?? 1e-5)
        let contextLength = try positive("context_length", file.optionalInt(key("context_length")) ?? 4096)
        let vocabularySize: Int
        if let n = try file.optionalInt(key("vocab_size")) {
            vocabularySize = try positive("vocab_size", n)
        } else if let t = file.tensor("token_embd.weight"), t.shape.count == 2 {
            vocabularySize = t.shape[1]
        } else {
            throw GGUFError.missingTensor("token_embd.weight")
        }
        shape = ModelShape(architecture: arch, layerCount: layerCount, embeddingSize: embeddingSize,
                           feedForwardSize: feedForwardSize, headCount: headCount, kvHeadCount: kvHeadCount, headSize: headSize,
                           valueSize: valueSize, contextLength: contextLength, vocabularySize: vocabularySize)
    }
}
