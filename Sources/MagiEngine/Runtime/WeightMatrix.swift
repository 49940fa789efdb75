import Foundation
import CBLAS
import MagiKernels

/// A weight matrix inside the mapped model file: `rows` output features of `columns` values each,
/// stored row by row in a GGUF tensor type. Never copied; kernels read the mapping directly.
// Sendable by hand: `data` points into a read-only file mapping that outlives the matrix.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: TensorType
    public let data: UnsafeRawPointer
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    /// The activation format `magi_matvec` expects for this weight type.
    public let activationType: Int32

    init(file: GGUFFile, name: String, rows: Int, columns: Int) throws {
        guard let tensor = file.tensor(name) else { throw GGUFError.missingTensor(name) }
        guard tensor.shape.count <= 2, tensor.shape[0] == columns, tensor.rowCount == rows else {
            throw GGUFError.tensorShapeMismatch(name: name, expected: [columns, rows], found: tensor.shape)
        }
        guard tensor.type.isSupported else { throw ModelError.unsupportedTensorType(name: name, type: tensor.type.name) }
        self.name = name
        self.type = tensor.type
        self.data = file.data(of: tensor)
        self.rows = rows
        self.columns = columns
        self.rowBytes = tensor.byteCount / rows
        self.activationType = Int32(magi_vec_dot_type(Int32(tensor.type.rawValue)))
    }

    private init(_ m: WeightMatrix, data: UnsafeRawPointer, rows: Int, columns: Int) {
        name = m.name; type = m.type; rowBytes = m.rowBytes; activationType = m.activationType
        self.data = data; self.rows = rows; self.columns = columns
    }

    /// The rows `range` of this matrix, as a matrix of their own.
    func rows(_ range: Range<Int>) -> WeightMatrix {
        WeightMatrix(self, data: data + range.lowerBound * rowBytes, rows: range.count, columns: columns)
    }

    /// The columns `range` of every row (bounds a multiple of the type's block size).
    func columns(_ range: Range<Int>) -> WeightMatrix {
        WeightMatrix(self, data: data + magi_row_bytes(Int32(type.rawValue), Int64(range.lowerBound)),
                     rows: rows, columns: range.count)
    }

    /// Bytes one activation vector occupies in `activationType`.
    var activationBytes: Int { magi_row_bytes(activationType, Int64(columns)) }

    /// out[r - rows.lowerBound] = row r · activation, for an activation already quantized to `activationType`.
    @inline(__always)
    func matvec(activation: UnsafeRawPointer, out: UnsafeMutablePointer<Float>, rows range: Range<Int>) {
        magi_matvec(Int32(type.rawValue), data, rowBytes, Int64(columns), activation, out,
                    Int64(range.lowerBound), Int64(range.upperBound))
    }

    /// Dequantizes rows `range` into `out` (row-major, `columns` floats per row).
    func dequantize(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let block = magi_row_bytes(Int32(type.rawValue), Int64(columns))
        if block == rowBytes {
            magi_dequantize(Int32(type.rawValue), data + range.lowerBound * rowBytes, out, Int64(range.count * columns))
            return
        }
        for (i, r) in range.enumerated() { // a column view: rows are not contiguous
            magi_dequantize(Int32(type.rawValue), data + r * rowBytes, out + i * columns, Int64(columns))
        }
    }
}

/// Multiplies a batch of activations by quantized weight matrices on the CPU.
///
/// Decode (one token) uses the integer matrix-vector kernels on 8-bit activations, as llama.cpp
/// does. Small batches use the batched matrix-vector kernels (`magi_matvec_batch`: each weight block
/// read once for all the batch's tokens); large batches use the integer gemm (`magi_gemm`) where the
/// instruction set has a fast one, elsewhere they dequantize the weights a slice at a time and
/// multiply with OpenBLAS `sgemm`. The batch size at which the gemm takes over is measured per
/// weight type the first time that type is multiplied (see `BatchCrossover`).
// Sendable by hand: owned by one session's ``ForwardState``; its scratch is written only inside `ThreadPool.run` jobs, each thread in its own slice.
final class MatrixMultiplier: @unchecked Sendable {
    let pool: ThreadPool
    /// Floats of dequantized weights each thread multiplies at a time on the float path.
    private let sliceCapacity: Int
    /// Per-thread float scratch (attention, float-path weight slices), grown on demand.
    private var threadFloats: UnsafeMutablePointer<Float>?
    private var threadFloatsStride = 0
    /// Quantized activation scratch: one vector for matvec, a batch for gemm.
    private var activation: UnsafeMutableRawPointer
    private var activationCapacity: Int
    /// Per-thread panel scratch for gemm, `gemmScratchStride` bytes each.
    private var gemmScratch: UnsafeMutableRawPointer?
    private var gemmScratchStride = 0
    /// Per weight type: batches smaller than this use `magi_matvec_batch`.
    private var crossovers: [Int32: Int] = [:]
    /// `MAGI_BATCH_CROSSOVER` from the environment, which fixes the crossover for every type (0:
    /// always the gemm), for benchmarks and tests comparing the two paths.
    private let fixedCrossover: Int? = ProcessInfo.processInfo.environment["MAGI_BATCH_CROSSOVER"].flatMap { Int($0) }

    init(pool: ThreadPool, sliceFloats: Int = 1 << 18) {
        self.pool = pool
        // Every sgemm runs on one thread inside a pool job: two thread pools would fight over the cores.
        openblas_set_num_threads(1)
        sliceCapacity = sliceFloats
        activationCapacity = 1 << 16
        activation = .allocate(byteCount: activationCapacity, alignment: 64)
    }

    deinit {
        threadFloats?.deallocate()
        activation.deallocate()
        gemmScratch?.deallocate()
    }

    private func reserveActivation(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > activationCapacity {
            activation.deallocate()
            activationCapacity = bytes
            activation = .allocate(byteCount: bytes, alignment: 64)
        }
        return activation
    }

    /// Quantizes one activation vector for `weights` into shared scratch and returns it.
    func quantize(_ x: UnsafePointer<Float>, for weights: WeightMatrix) -> UnsafeRawPointer {
        let buffer = reserveActivation(weights.activationBytes)
        magi_quantize_activation(weights.activationType, x, buffer, Int64(weights.columns))
        return UnsafeRawPointer(buffer)
    }

    /// y = W · x for a single vector, split across the pool by rows.
    func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let q = quantize(x, for: w)
        pool.parallelFor(w.rows) { range in
            w.matvec(activation: q, out: y + range.lowerBound, rows: range)
        }
    }

    /// Several matrices sharing one input (for example Q, K and V), in one parallel job.
    /// All must have the same activation type and column count.
    func matvec(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, into ys: [UnsafeMutablePointer<Float>]) {
        let q = quantize(x, for: ws[0])
        let total = ws.reduce(0) { $0 + $1.rows }
        pool.parallelFor(total) { range in
            var base = 0
            for (w, y) in zip(ws, ys) {
                let lo = max(range.lowerBound, base), hi = min(range.upperBound, base + w.rows)
                if lo < hi { w.matvec(activation: q, out: y + (lo - base), rows: (lo - base)..<(hi - base)) }
                base += w.rows
            }
        }
    }

    /// Y[n × rows] = X[n × columns] · Wᵀ (X rows `columns` floats apart), with `ldy` floats
    /// between rows of Y; Y += X · Wᵀ when `accumulate` is set.
    func gemm(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int,
              into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false) {
        gemm([w], x, batch: n, into: [y], ldy: [ldy], accumulate: accumulate)
    }

    /// Several matrices sharing one input batch: `ys[i]` (rows `ldy[i]` floats apart) = X · `ws[i]`ᵀ.
    /// With the integer gemm the input is quantized once and all matrices run in one parallel job.
    func gemm(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, batch n: Int,
              into ys: [UnsafeMutablePointer<Float>], ldy: [Int], accumulate: Bool = false) {
        let type = Int32(ws[0].type.rawValue), k = ws[0].columns
        if ws.allSatisfy({ magi_matvec_batch_fast(Int32($0.type.rawValue)) != 0 && $0.activationType == ws[0].activationType }),
           ws.allSatisfy({ n < crossover(for: $0) }) {
            batchedMatvec(ws, x, batch: n, into: ys, ldy: ldy, accumulate: accumulate)
            return
        }
        let group = magi_gemm_group(type)
        guard ws.allSatisfy({ magi_gemm_fast(Int32($0.type.rawValue)) != 0 && magi_gemm_group(Int32($0.type.rawValue)) == group }) else {
            for i in ws.indices { floatGemm(ws[i], x, batch: n, into: ys[i], ldy: ldy[i], accumulate: accumulate) }
            return
        }
        let act = reserveActivation(magi_gemm_activation_bytes(type, Int64(k), Int64(n)))
        let stride = magi_gemm_activation_bytes(type, Int64(k), 1)
        pool.parallelFor(n) { rows in
            magi_gemm_quantize(type, x + rows.lowerBound * k, Int64(k), Int64(k), Int64(rows.count),
                               act + rows.lowerBound * stride)
        }
        let scratchBytes = ws.map { magi_gemm_scratch_bytes(Int32($0.type.rawValue), Int64(k)) }.max()!
        let scratch = reserveGemmScratch((scratchBytes + 63) & ~63)
        let panelRows = 16
        let panels = ws.map { ($0.rows + panelRows - 1) / panelRows }
        let total = panels.reduce(0, +), threads = pool.threadCount, scratchStride = gemmScratchStride
        pool.run { t in
            let lo = total * t / threads, hi = total * (t + 1) / threads
            var base = 0
            for i in ws.indices {
                let a = max(lo, base), b = min(hi, base + panels[i])
                if a < b {
                    let w = ws[i]
                    magi_gemm(Int32(w.type.rawValue), w.data, w.rowBytes, Int64(k), act, Int64(n), ys[i], Int64(ldy[i]),
                              Int64((a - base) * panelRows), Int64(min(w.rows, (b - base) * panelRows)),
                              scratch + t * scratchStride, accumulate ? 1 : 0)
                }
                base += panels[i]
            }
        }
    }

    /// The batch size from which `w`'s type goes to the gemm rather than the batched matvec.
    private func crossover(for w: WeightMatrix) -> Int {
        if let fixedCrossover { return fixedCrossover }
        let type = Int32(w.type.rawValue)
        if let c = crossovers[type] { return c }
        let c = BatchCrossover.measure(w)
        crossovers[type] = c
        return c
    }

    /// `ys[i]` (+)= X · `ws[i]`ᵀ with the batched matrix-vector kernels: the batch is quantized to the
    /// weights' activation format once, then each thread multiplies its rows with every token.
    private func batchedMatvec(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, batch n: Int,
                               into ys: [UnsafeMutablePointer<Float>], ldy: [Int], accumulate: Bool) {
        let k = ws[0].columns, actType = ws[0].activationType
        let stride = (ws[0].activationBytes + 63) & ~63
        let buffer = reserveActivation(stride * n)
        pool.parallelFor(n) { rows in
            for j in rows { magi_quantize_activation(actType, x + j * k, buffer + j * stride, Int64(k)) }
        }
        let act = UnsafeRawPointer(buffer)
        let total = ws.reduce(0) { $0 + $1.rows }
        pool.parallelFor(total) { range in
            var base = 0
            for (i, w) in ws.enumerated() {
                let lo = max(range.lowerBound, base) - base, hi = min(range.upperBound, base + w.rows) - base
                if lo < hi {
                    magi_matvec_batch(Int32(w.type.rawValue), w.data, w.rowBytes, Int64(k), act, stride, Int64(n),
                                      ys[i] + lo, Int64(ldy[i]), Int64(lo), Int64(hi), accumulate ? 1 : 0)
                }
                base += w.rows
            }
        }
    }

    private func reserveGemmScratch(_ stride: Int) -> UnsafeMutableRawPointer {
        if let gemmScratch, stride <= gemmScratchStride { return gemmScratch }
        gemmScratch?.deallocate()
        gemmScratchStride = stride
        let p = UnsafeMutableRawPointer.allocate(byteCount: stride * pool.threadCount, alignment: 64)
        gemmScratch = p
        return p
    }

    /// `threadCount` float buffers of at least `floats` floats each, `stride` apart; valid until
    /// the next call. Grows only, so the decode loop never allocates.
    func threadScratch(floats: Int) -> (base: UnsafeMutablePointer<Float>, stride: Int) {
        let stride = (floats + 15) & ~15
        if let threadFloats, stride <= threadFloatsStride { return (threadFloats, threadFloatsStride) }
        threadFloats?.deallocate()
        let p = UnsafeMutablePointer<Float>.allocate(capacity: stride * pool.threadCount)
        threadFloats = p
        threadFloatsStride = stride
        return (p, stride)
    }

    /// The float path: each thread dequantizes its rows slice by slice and multiplies with `sgemm`.
    private func floatGemm(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int,
                           into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
        let rowsPerSlice = max(1, min(w.rows, sliceCapacity / w.columns))
        let (scratch, stride) = threadScratch(floats: rowsPerSlice * w.columns)
        let threads = pool.threadCount
        pool.run { t in
            let slice = scratch + t * stride
            var start = w.rows * t / threads
            let end = w.rows * (t + 1) / threads
            while start < end {
                let count = min(end - start, rowsPerSlice)
                w.dequantize(rows: start..<(start + count), into: slice)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(w.columns),
                            1, x, Int32(w.columns), slice, Int32(w.columns), accumulate ? 1 : 0, y + start, Int32(ldy))
                start += count
            }
        }
    }
}
