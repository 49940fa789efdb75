import Foundation
import MagiKernels

/// Small float kernels of the forward pass. Each works on raw buffers; none allocates.
enum TensorMath {
    /// out = x / rms(x) * weight, over `n` values.
    @inline(__always)
    static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
                        count n: Int, into out: UnsafeMutablePointer<Float>) {
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i]) * Double(x[i]) }
        let scale = Float(1 / (sum / Double(n) + Double(epsilon)).squareRoot())
        for i in 0..<n { out[i] = x[i] * scale * weight[i] }
    }

    /// In-place softmax over `n` values; returns nothing, the values become probabilities.
    @inline(__always)
    static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        magi_softmax_f32(Int64(n), x)
    }

    /// gate = silu(gate) * up, over `n` values.
    @inline(__always)
    static func swiglu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count n: Int) {
        magi_swiglu_f32(Int64(n), gate, up)
    }

    /// y += x over `n` values.
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        magi_axpy_f32(Int64(n), 1, x, y)
    }
}

/// Rotary position embedding on adjacent pairs (ggml's "normal" mode, which llama-family GGUFs
/// use after the converter's permutation of Q and K), with frequencies computed once.
struct RotaryEmbedding {
    let dimensions: Int
    /// Angle per position for each pair: theta_i = freqScale / base^(2i/d) / factor_i.
    private let inverseFrequencies: [Double]

    init(dimensions: Int, base: Double, frequencyScale: Double, frequencyFactors: [Float]?) {
        self.dimensions = dimensions
        inverseFrequencies = (0..<dimensions / 2).map { i in
            let factor = frequencyFactors.map { Double($0[i]) } ?? 1
            return frequencyScale * pow(base, -2 * Double(i) / Double(dimensions)) / factor
        }
    }

    /// Rotates the first `dimensions` values of each of `heads` vectors of `headSize` at `x`.
    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headSize: Int, position: Int) {
        apply(x, heads: heads, and: x, heads: 0, headSize: headSize, position: position)
    }

    /// Rotates queries and keys of one position (`qHeads` vectors at `q`, `kHeads` at `k`), each
    /// angle's cosine and sine computed once.
    func apply(_ q: UnsafeMutablePointer<Float>, heads qHeads: Int, and k: UnsafeMutablePointer<Float>, heads kHeads: Int,
               headSize: Int, position: Int) {
        for pair in 0..<dimensions / 2 {
            let angle = Double(position) * inverseFrequencies[pair]
            let c = Float(cos(angle)), s = Float(sin(angle))
            for h in 0..<qHeads + kHeads {
                let p = (h < qHeads ? q + h * headSize : k + (h - qHeads) * headSize) + 2 * pair
                let a = p[0], b = p[1]
                p[0] = a * c - b * s
                p[1] = a * s + b * c
            }
        }
    }
}
