import CBLAS
import MagiKernels

/// A weight matrix inside the mapped model file: `rows` output features of `columns` values each,
/// stored row by row in a GGUF tensor type. Never copied; kernels read the mapping directly.
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
        magi_dequantize(Int32(type.rawValue), data + range.lowerBound * rowBytes, out,
                        Int64(range.count * columns))
    }
}

/// Multiplies a batch of activations by quantized weight matrices on the CPU.
///
/// Decode (one token) uses the integer kernels on 8-bit activations, as llama.cpp does. Batches
/// dequantize the weights a slice at a time into a float buffer and multiply with OpenBLAS
/// `sgemm`, keeping activations in full precision: faster for long prompts and closer to the
/// exact model.
final class MatrixMultiplier: @unchecked Sendable {
    let pool: ThreadPool
    /// Float scratch for dequantized weight slices.
    private let slice: UnsafeMutablePointer<Float>
    private let sliceCapacity: Int
    /// Quantized activation scratch, one per row of a batch processed by matvec.
    private var activation: UnsafeMutableRawPointer
    private var activationCapacity: Int

    init(pool: ThreadPool, sliceFloats: Int = 1 << 19) {
        self.pool = pool
        sliceCapacity = sliceFloats
        slice = .allocate(capacity: sliceFloats)
        activationCapacity = 1 << 16
        activation = .allocate(byteCount: activationCapacity, alignment: 64)
    }

    deinit {
        slice.deallocate()
        activation.deallocate()
    }

    /// Quantizes one activation vector for `weights` into shared scratch and returns it.
    func quantize(_ x: UnsafePointer<Float>, for weights: WeightMatrix) -> UnsafeRawPointer {
        let bytes = weights.activationBytes
        if bytes > activationCapacity {
            activation.deallocate()
            activationCapacity = bytes
            activation = .allocate(byteCount: bytes, alignment: 64)
        }
        magi_quantize_activation(weights.activationType, x, activation, Int64(weights.columns))
        return UnsafeRawPointer(activation)
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

    /// Y[n × rows] = X[n × columns] · Wᵀ, with `ldy` floats between rows of Y.
    func gemm(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int,
              into y: UnsafeMutablePointer<Float>, ldy: Int) {
        let rowsPerSlice = max(1, min(w.rows, sliceCapacity / w.columns))
        var start = 0
        while start < w.rows {
            let end = min(w.rows, start + rowsPerSlice)
            let count = end - start
            let dst = slice
            pool.parallelFor(count) { range in
                w.dequantize(rows: (start + range.lowerBound)..<(start + range.upperBound),
                             into: dst + range.lowerBound * w.columns)
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(w.columns),
                        1, x, Int32(w.columns), slice, Int32(w.columns), 0, y + start, Int32(ldy))
            start = end
        }
    }
}
