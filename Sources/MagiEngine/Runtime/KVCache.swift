import MagiKernels

/// How the KV cache stores keys and values, by llama.cpp's names (`-ctk`, `-ctv`): half precision
/// (the default, as llama.cpp's), single precision (exact to float32 rounding), or 8 bits in blocks of
/// 32 with a half-precision scale (`q8_0`: 8.5 bits a value, 53% of half precision's memory).
public enum KVCacheType: String, Sendable, CaseIterable, Codable {
    case f16, f32
    case q8_0

    /// The ggml tensor type of one stored row, for the kernels.
    var tensorType: Int32 {
        switch self {
        case .f16: Int32(MAGI_TYPE_F16.rawValue)
        case .f32: Int32(MAGI_TYPE_F32.rawValue)
        case .q8_0: Int32(MAGI_TYPE_Q8_0.rawValue)
        }
    }

    /// Bytes of one stored row of `width` values.
    func rowBytes(_ width: Int) -> Int { magi_row_bytes(tensorType, Int64(width)) }

    /// True when rows of `width` values can be stored (8-bit rows are whole blocks of 32).
    public func canStore(width: Int) -> Bool { self != .q8_0 || width % 32 == 0 }
}

/// Keys and values of every position processed so far.
///
/// Layout: `[layer][kvHead][position][headSize]`, so one head's keys over all positions are
/// contiguous rows for the attention kernels and, converted to floats, for `sgemm`.
// Sendable by hand: owned by one session's ``ForwardState`` and touched only by the thread driving that session and the pool's jobs it runs (disjoint heads).
final class KVCache: @unchecked Sendable {
    let type: KVCacheType
    let capacity: Int
    let layers: Int
    let kvHeads: Int
    let keySize: Int
    let valueSize: Int
    /// Positions filled, from 0.
    var count = 0
    private let keyStore: UnsafeMutableRawPointer
    private let valueStore: UnsafeMutableRawPointer

    init(type: KVCacheType, capacity: Int, layers: Int, kvHeads: Int, keySize: Int, valueSize: Int) {
        precondition(type.canStore(width: keySize) && type.canStore(width: valueSize), "\(type) cannot store rows of \(keySize) and \(valueSize)")
        self.type = type
        self.capacity = capacity
        self.layers = layers
        self.kvHeads = kvHeads
        self.keySize = keySize
        self.valueSize = valueSize
        keyStore = .allocate(byteCount: layers * kvHeads * capacity * type.rowBytes(keySize), alignment: 64)
        valueStore = .allocate(byteCount: layers * kvHeads * capacity * type.rowBytes(valueSize), alignment: 64)
    }

    deinit {
        keyStore.deallocate()
        valueStore.deallocate()
    }

    /// Bytes the cache holds.
    var byteCount: Int { layers * kvHeads * capacity * (keyRowBytes + valueRowBytes) }
    var keyRowBytes: Int { type.rowBytes(keySize) }
    var valueRowBytes: Int { type.rowBytes(valueSize) }

    /// First key row of a head (position 0).
    @inline(__always) func keys(layer: Int, head: Int) -> UnsafeMutableRawPointer {
        keyStore + (layer * kvHeads + head) * capacity * keyRowBytes
    }

    /// First value row of a head (position 0).
    @inline(__always) func values(layer: Int, head: Int) -> UnsafeMutableRawPointer {
        valueStore + (layer * kvHeads + head) * capacity * valueRowBytes
    }

    /// Stores one position's keys (`kvHeads × keySize`) and values (`kvHeads × valueSize`).
    @inline(__always) func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, layer: Int, position: Int) {
        for h in 0..<kvHeads {
            write(k + h * keySize, count: keySize, to: keys(layer: layer, head: h) + position * keyRowBytes)
            write(v + h * valueSize, count: valueSize, to: values(layer: layer, head: h) + position * valueRowBytes)
        }
    }

    /// Moves `count` positions from `source` down to `destination` in every layer and head, and
    /// rotates the moved keys back by the distance moved, so they stand where they now are.
    func shift(from source: Int, to destination: Int, count: Int, rope: RotaryEmbedding) {
        let distance = source - destination
        let row = UnsafeMutablePointer<Float>.allocate(capacity: keySize)
        defer { row.deallocate() }
        for layer in 0..<layers {
            for head in 0..<kvHeads {
                let k = keys(layer: layer, head: head), v = values(layer: layer, head: head)
                (k + destination * keyRowBytes).copyMemory(from: k + source * keyRowBytes, byteCount: count * keyRowBytes)
                (v + destination * valueRowBytes).copyMemory(from: v + source * valueRowBytes, byteCount: count * valueRowBytes)
                for p in destination..<destination + count {
                    let slot = k + p * keyRowBytes
                    let current = floatRows(slot, rows: 1, width: keySize, scratch: row)
                    if current != row { row.update(from: current, count: keySize) }
                    rope.apply(row, heads: 1, headSize: keySize, position: -distance)
                    write(row, count: keySize, to: slot)
                }
            }
        }
    }

    /// The first `rows` key (or value) rows of a head as floats: the cache itself when it stores
    /// floats, else a conversion into `scratch`.
    func floatRows(_ base: UnsafeMutableRawPointer, rows: Int, width: Int, scratch: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        floatRows(base, rows: rows, width: width, of: type, scratch: scratch)
    }

    /// Rows of `type` as floats: `base` itself for floats, else a conversion into `scratch`.
    func floatRows(_ base: UnsafeMutableRawPointer, rows: Int, width: Int, of type: KVCacheType,
                   scratch: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        switch type {
        case .f32: return base.assumingMemoryBound(to: Float.self)
        case .f16, .q8_0:
            magi_dequantize(type.tensorType, base, scratch, Int64(rows * width))
            return scratch
        }
    }

    /// Stores `count` values (whole 32-value blocks for `q8_0`) from `x` at `row` in the cache's type.
    @inline(__always) func write(_ x: UnsafePointer<Float>, count: Int, to row: UnsafeMutableRawPointer) {
        switch type {
        case .f32: row.assumingMemoryBound(to: Float.self).update(from: x, count: count)
        case .f16: magi_f32_to_f16(Int64(count), x, row.assumingMemoryBound(to: UInt16.self))
        case .q8_0: magi_quantize_activation(type.tensorType, x, row, Int64(count))
        }
    }
}

/// Activation buffers of the forward pass, allocated once per session.
// Sendable by hand: as ``KVCache``, owned by one session and written only by the pool's jobs it runs (disjoint rows).
final class ForwardScratch: @unchecked Sendable {
    let maxBatch: Int
    // Single-token decode.
    let hidden, normed, query, keyRow, valueRow, attention, gate, up, scores: UnsafeMutablePointer<Float>
    /// Each head's query in the cache's type, for 8-bit keys.
    let quantizedQuery: UnsafeMutableRawPointer
    /// [query, keyRow, valueRow] and [gate, up], for the grouped matrix-vector products.
    let queryKeyValue, gateUp: [UnsafeMutablePointer<Float>]
    // Batched prefill, `maxBatch` rows each. Gate and up share memory with query, key, value and
    // attention, which are dead by then.
    let batchHidden, batchNormed, batchQuery, batchKey, batchValue, batchAttention, batchGate, batchUp: UnsafeMutablePointer<Float>
    /// Feed-forward rows a batch computes at a time (a multiple of 256, so K-quant blocks of the
    /// down projection's columns stay whole), so that gate and up fit in the attention buffers.
    let feedForwardPart: Int
    private var all: [UnsafeMutablePointer<Float>] = []

    init(shape c: ModelShape, contextSize: Int, maxBatch: Int, cacheType: KVCacheType) {
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
        quantizedQuery = UnsafeMutableRawPointer(make((c.headCount * cacheType.rowBytes(c.headSize) + 3) / 4))
        queryKeyValue = [query, keyRow, valueRow]
        gateUp = [gate, up]
        let b = maxBatch
        let attentionWidth = q + k + v + o
        feedForwardPart = 2 * f <= attentionWidth ? f : max(256, attentionWidth / 2 / 256 * 256)
        batchHidden = make(b * d); batchNormed = make(b * max(d, o))
        let work = make(b * max(attentionWidth, 2 * feedForwardPart))
        batchQuery = work; batchKey = work + b * q; batchValue = batchKey + b * k; batchAttention = batchValue + b * v
        batchGate = work; batchUp = work + b * feedForwardPart
        all = buffers
    }

    deinit { for p in all { p.deallocate() } }
}
