import MagiKernels
import Testing

/// magi_matvec_batch against the single-vector kernel it batches: for every weight type, instruction
/// set, batch size (tiles of 8, 4, 2 and 1 and their mixtures) and row width, each output equals
/// magi_matvec on that activation alone.
@Suite(.serialized)
struct MatvecBatchTests {
    static let batchSizes = [1, 3, 7, 8, 11, 16]
    /// Blocks per row: one, odd counts, and the fixture's own width.
    static let widths = [1, 3, 5]

    /// `rows` rows of `blocks` blocks each, cut from the fixture's blocks (cycled when it has fewer).
    func weights(_ f: KernelFixture, rows: Int, blocks: Int) -> [UInt8] {
        let total = f.raw.count / f.blockBytes
        var out = [UInt8]()
        out.reserveCapacity(rows * blocks * f.blockBytes)
        for b in 0..<(rows * blocks) {
            let s = (b * 7 % total) * f.blockBytes // a stride through the fixture, so rows differ
            out.append(contentsOf: f.raw[s..<(s + f.blockBytes)])
        }
        return out
    }

    /// Runs magi_matvec_batch over `rows` into an n × ldo matrix starting from `initial`.
    func batch(_ type: Int32, w: [UInt8], rowBytes: Int, cols: Int, act: [UInt8], stride: Int, n: Int,
               rows: Range<Int>, ldo: Int, initial: [Float], accumulate: Bool) -> [Float] {
        var out = initial
        w.withUnsafeBytes { wp in
            act.withUnsafeBytes { ap in
                out.withUnsafeMutableBufferPointer { o in
                    magi_matvec_batch(type, wp.baseAddress, rowBytes, Int64(cols), ap.baseAddress, stride, Int64(n),
                                      o.baseAddress, Int64(ldo), Int64(rows.lowerBound), Int64(rows.upperBound),
                                      accumulate ? 1 : 0)
                }
            }
        }
        return out
    }

    @Test func equalsOneMatvecPerActivation() {
        let rows = 13, ldo = 17
        for isa in availableISAs { withISA(isa) {
            // The AVX-512 matvec kernels sum in another order than the AVX2 batch kernels those CPUs use.
            let exact = !isa.hasPrefix("avx512")
            for f in allFixtures where f.blockElems > 1 {
                for blocks in Self.widths + [f.blocksPerRow] {
                    let cols = blocks * f.blockElems, rowBytes = blocks * f.blockBytes
                    let w = weights(f, rows: rows, blocks: blocks)
                    let actType = magi_vec_dot_type(f.type)
                    let stride = (magi_row_bytes(actType, Int64(cols)) + 63) & ~63
                    for n in Self.batchSizes {
                        var act = [UInt8](repeating: 0, count: stride * n)
                        var expected = [[Float]]()
                        for j in 0..<n {
                            let q = quantizeActivation(actType, fixtureActivation(seed: f.seed &+ UInt64(j), count: cols))
                            act.replaceSubrange((j * stride)..<(j * stride + q.count), with: q)
                            expected.append((0..<rows).map { r in
                                vecDot(f.type, cols: cols, row: w[(r * rowBytes)..<((r + 1) * rowBytes)], act: q)
                            })
                        }
                        for (range, accumulate) in [(0..<rows, false), (2..<11, true)] {
                            let initial = (0..<(n * ldo)).map { Float($0 % 5) - 2 }
                            let out = batch(f.type, w: w, rowBytes: rowBytes, cols: cols, act: act, stride: stride, n: n,
                                            rows: range, ldo: ldo, initial: initial, accumulate: accumulate)
                            for j in 0..<n {
                                for (i, r) in range.enumerated() {
                                    let want = accumulate ? initial[j * ldo + i] + expected[j][r] : expected[j][r]
                                    let got = out[j * ldo + i]
                                    let ok = exact ? got.bitPattern == want.bitPattern
                                                   : abs(got - want) <= 1e-5 * max(1, abs(want))
                                    #expect(ok, "\(isa) \(f.name) \(blocks) blocks n=\(n) rows \(range) j=\(j) r=\(r): \(got) vs \(want)")
                                }
                                // Nothing outside the row range is written.
                                for i in range.count..<ldo { #expect(out[j * ldo + i] == initial[j * ldo + i]) }
                            }
                        }
                    }
                }
            }
        } }
    }

    /// The types of Magistral's Q4_K_M and Q8_0 files have a kernel that reads the weights once per
    /// tile on x86; the scalar reference has none (its fallback is the per-activation loop above).
    @Test func fastKernelsWhereExpected() {
        withISA("scalar") { #expect(magi_matvec_batch_fast(T.q4_K) == 0) }
        for isa in availableISAs where ["avx2", "avx512", "avx512vnni"].contains(isa) {
            withISA(isa) {
                for t in [T.q4_K, T.q5_K, T.q6_K, T.q8_0] { #expect(magi_matvec_batch_fast(t) == 1, "\(isa) \(typeName(t))") }
            }
        }
        #expect(magi_matvec_batch_fast(-1) == 0 && magi_matvec_batch_fast(99) == 0)
    }
}
