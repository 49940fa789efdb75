/// Keys and values of every position processed so far, in float32.
///
/// Layout: `[layer][kvHead][position][headSize]`, so one head's keys over all positions are
/// contiguous for the attention dot products and for `sgemm`.
final class KVCache: @unchecked Sendable {
    let capacity: Int
    let layers: Int
    let kvHeads: Int
    let keySize: Int
    let valueSize: Int
    /// Positions filled, from 0.
    var count = 0
    private let keyStore: UnsafeMutablePointer<Float>
    private let valueStore: UnsafeMutablePointer<Float>

    init(capacity: Int, layers: Int, kvHeads: Int, keySize: Int, valueSize: Int) {
        self.capacity = capacity
        self.layers = layers
        self.kvHeads = kvHeads
        self.keySize = keySize
        self.valueSize = valueSize
        keyStore = .allocate(capacity: layers * kvHeads * capacity * keySize)
        valueStore = .allocate(capacity: layers * kvHeads * capacity * valueSize)
    }

    deinit {
        keyStore.deallocate()
        valueStore.deallocate()
    }

    /// Bytes the cache holds.
    var byteCount: Int { layers * kvHeads * capacity * (keySize + valueSize) * MemoryLayout<Float>.size }

    @inline(__always) func keys(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        keyStore + ((layer * kvHeads + head) * capacity) * keySize
    }

    @inline(__always) func values(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        valueStore + ((layer * kvHeads + head) * capacity) * valueSize
    }

    /// Stores one position's keys (`kvHeads × keySize`) and values (`kvHeads × valueSize`).
    @inline(__always) func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, layer: Int, position: Int) {
        for h in 0..<kvHeads {
            (keys(layer: layer, head: h) + position * keySize).update(from: k + h * keySize, count: keySize)
            (values(layer: layer, head: h) + position * valueSize).update(from: v + h * valueSize, count: valueSize)
        }
    }
}

/// Activation buffers of the forward pass, allocated once per session.
final class ForwardScratch: @unchecked Sendable {
    let maxBatch: Int
    // Single-token decode.
    let hidden, normed, query, keyRow, valueRow, attention, gate, up, scores: UnsafeMutablePointer<Float>
    // Batched prefill, `maxBatch` rows each.
    let batchHidden, batchNormed, batchQuery, batchKey, batchValue, batchAttention, batchGate, batchUp, batchScores: UnsafeMutablePointer<Float>
    private var all: [UnsafeMutablePointer<Float>] = []

    init(configuration c: LlamaConfiguration, contextSize: Int, maxBatch: Int) {
        self.maxBatch = maxBatch
        var buffers: [UnsafeMutablePointer<Float>] = []
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            buffers.append(p)
            return p
        }
        let d = c.embeddingSize, q = c.headCount * c.headSize, k = c.kvHeadCount * c.headSize
        let v = c.kvHeadCount * c.valueSize, o = c.headCount * c.valueSize, f = c.feedForwardSize
        hidden = make(d); normed = make(max(d, o)); query = make(q); keyRow = make(k); valueRow = make(v)
        attention = make(o); gate = make(f); up = make(f); scores = make(c.headCount * contextSize)
        let b = maxBatch
        batchHidden = make(b * d); batchNormed = make(b * max(d, o)); batchQuery = make(b * q)
        batchKey = make(b * k); batchValue = make(b * v); batchAttention = make(b * o)
        batchGate = make(b * f); batchUp = make(b * f); batchScores = make(b * contextSize)
        all = buffers
    }

    deinit { for p in all { p.deallocate() } }
}
