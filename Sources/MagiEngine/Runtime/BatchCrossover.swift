import Foundation
import MagiKernels

/// Measures the batch size from which the integer gemm beats the batched matrix-vector product on
/// one weight matrix. `magi_matvec_batch` costs the same per token at any batch size (each weight
/// block is decoded once per tile of 8 tokens); `magi_gemm` first unpacks every weight row into
/// 8-bit panels, a cost per batch that only large batches amortise. Where the two meet depends on
/// the weight type, the instruction set and the machine, so it is timed rather than assumed.
enum BatchCrossover {
    /// Batch sizes tried in order; the first at which the gemm is as fast as the batched matvec is
    /// the crossover.
    static let candidates = [2, 4, 8, 16, 32, 64, 128, 256, 512]
    /// Weight bytes multiplied per timing: enough rows for tens of microseconds per call, few
    /// enough that they stay in cache as they would inside one thread's share of a matrix.
    static let probeBytes = 256 * 1024
    /// Timings per path and batch size; the fastest counts (the machine is shared).
    static let repetitions = 3

    /// The batch size from which `w`'s weight type should use the gemm, or `Int.max` if the gemm
    /// never caught up within `candidates` (or this instruction set has no fast integer gemm).
    /// Runs on the calling thread; takes a few to tens of milliseconds, once per weight type.
    static func measure(_ w: WeightMatrix) -> Int {
        let type = Int32(w.type.rawValue), k = w.columns
        guard magi_gemm_fast(type) != 0, magi_matvec_batch_fast(type) != 0 else { return Int.max }
        let rows = w.rows < 16 ? w.rows : min(w.rows, max(16, probeBytes / max(1, w.rowBytes)) / 16 * 16)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: magi_gemm_scratch_bytes(type, Int64(k)), alignment: 64)
        defer { scratch.deallocate() }
        let actStride = (w.activationBytes + 63) & ~63
        for n in candidates {
            // Deterministic activations of an ordinary spread (their values do not change the timing).
            let x = (0..<(n * k)).map { Float(sin(Double($0) * 0.7311)) }
            let y = UnsafeMutablePointer<Float>.allocate(capacity: n * rows)
            let act = UnsafeMutableRawPointer.allocate(byteCount: actStride * n, alignment: 64)
            let gemmAct = UnsafeMutableRawPointer.allocate(byteCount: magi_gemm_activation_bytes(type, Int64(k), Int64(n)), alignment: 64)
            defer { y.deallocate(); act.deallocate(); gemmAct.deallocate() }
            x.withUnsafeBufferPointer { xs in
                for j in 0..<n { magi_quantize_activation(w.activationType, xs.baseAddress! + j * k, act + j * actStride, Int64(k)) }
                magi_gemm_quantize(type, xs.baseAddress!, Int64(k), Int64(k), Int64(n), gemmAct)
            }
            let batched = fastest {
                magi_matvec_batch(type, w.data, w.rowBytes, Int64(k), act, actStride, Int64(n), y, Int64(rows), 0, Int64(rows), 0)
            }
            let gemm = fastest {
                magi_gemm(type, w.data, w.rowBytes, Int64(k), gemmAct, Int64(n), y, Int64(rows), 0, Int64(rows), scratch, 0)
            }
            if gemm <= batched { return n }
        }
        return Int.max
    }

    /// The shortest of `repetitions` timings of `body`, in nanoseconds.
    private static func fastest(_ body: () -> Void) -> UInt64 {
        var best = UInt64.max
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, DispatchTime.now().uptimeNanoseconds - start)
        }
        return best
    }
}
