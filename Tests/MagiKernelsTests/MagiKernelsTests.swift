import Foundation
import MagiKernels
import Testing

/// binary32 unit roundoff.
let u32 = 0x1p-24

/// Error bounds for one `magi_vec_dot` of a fixture row (see `dotBounds`).
struct DotBounds {
    /// Σ w_i·â_i (+ the Q8_1 `s` correction): what the integer kernel computes up to float rounding.
    var emulated: Double
    /// Float-rounding bound for |kernel - emulated|.
    var rounding: Double
    /// Bound for |emulated - exact| caused by quantizing the activation.
    var quantization: Double
}

/// Derives the bounds from the data.
///
/// The integer kernels compute, per block, exact integer sums scaled by products of a few floats
/// (d_w·d_a, m·s, dmin·d_a), then add the per-block terms in float (sequentially in the scalar
/// reference, in ≤16 lanes + a reduction tree in SIMD). Each term carries ≤4 roundings and the
/// accumulation ≤ nb+4 more, and gguf's dequantized w_i carry ≤3 roundings of their own, so
///   |kernel - emulated| ≤ (nb + 16)·u·Σ_i (|w_i| + |μ_i|)·|â_i|  (+ the same for the m·s terms),
/// where μ_i is the block's min offset (the min and scale parts are summed separately and can
/// cancel in w_i). For float weights the kernels sum n products in ≥8 lanes:
/// (n/8 + 16)·u·Σ|w_i a_i|.
///
/// Activation quantization (ggml's quantize_row_q8_*): per block d = amax/127 and
/// q = round(a/d), so |q·d - a| ≤ d/2 (plus a few ulp). Q8_0/Q8_1 store d as fp16
/// (relative error ≤ 2^-11, or ≤ 2^-25 absolute when subnormal), moving each â = q·fp16(d) by up
/// to 127·d·2^-11 more. Q8_1's s = fp16(d·Σq) differs from Σâ by ≤ 2^-11·|s| + 32·127·d·2^-11.
/// Hence |emulated - exact| ≤ Σ_i |w_i|·e_b(i) + Σ_b |m_b|·(s error), with
///   e_b = d_b·(1/2 + 127/2048) (Q8_0, Q8_1), e_b = d_b/2 (Q8_K), each with 1e-4 relative slack.
func dotBounds(_ f: KernelFixture, row r: Int, w: ArraySlice<Float>, a: [Float], actQ: [UInt8]) -> DotBounds {
    let actType = magi_vec_dot_type(f.type)
    let n = f.cols
    if actType == T.f32 {
        var mag = 0.0
        for i in 0..<n { mag += abs(Double(w[w.startIndex + i]) * Double(a[i])) }
        return DotBounds(emulated: f.dots[r], rounding: (Double(n) / 8 + 16) * u32 * mag, quantization: 0)
    }
    let ahat = dequantize(actType, actQ, count: n)
    let ab = Int(magi_block_elems(actType)), abytes = Int(magi_block_bytes(actType))
    let rowRaw = Array(f.raw[(r * f.rowBytes)..<((r + 1) * f.rowBytes)])
    let hasM = f.type == T.q4_1 || f.type == T.q5_1
    // bound on the min offset |μ| of each weight block, for the magnitude of cancelling parts
    func minOffset(_ blk: Int) -> Double {
        let o = blk * f.blockBytes
        switch f.type {
        case T.q4_1, T.q5_1: return abs(Double(half(rowRaw, o + 2)))
        case T.q4_K, T.q5_K: return abs(Double(half(rowRaw, o + 2))) * 63
        case T.q2_K: return abs(Double(half(rowRaw, o + 82))) * 15
        default: return 0
        }
    }
    var emulated = 0.0, mag = 0.0, quant = 0.0
    for b in 0..<(n / ab) {
        var amax = 0.0, sumHat = 0.0, sumAbsHat = 0.0
        for i in (b * ab)..<((b + 1) * ab) { amax = max(amax, abs(Double(a[i]))) }
        let d = amax / 127
        let e = actType == T.q8_K ? d * (0.5 + 1e-4)
                                  : d * (0.5 + 127.0 / 2048 + 1e-4) + 127 * 0x1p-25
        for i in (b * ab)..<((b + 1) * ab) {
            let wi = Double(w[w.startIndex + i]), hi = Double(ahat[i])
            emulated += wi * hi
            mag += (abs(wi) + minOffset(i / f.blockElems)) * abs(hi)
            quant += abs(wi) * e
            sumHat += hi
            sumAbsHat += abs(hi)
        }
        if hasM {
            // one Q8_1 block per weight block
            let m = Double(half(rowRaw, b * f.blockBytes + 2))
            let s = Double(half(actQ, b * abytes + 2))
            emulated += m * (s - sumHat)
            mag += abs(m) * (abs(s) + sumAbsHat)
            quant += abs(m) * (abs(s) * 0x1p-11 + 0x1p-25 + 32 * (127 * d * 0x1p-11 + 127 * 0x1p-25))
        }
    }
    let nb = Double(n / f.blockElems)
    return DotBounds(emulated: emulated, rounding: (nb + 16) * u32 * mag, quantization: quant)
}

@Suite(.serialized)
struct MagiKernelsTests {
    @Test func blockSizesMatchGGML() {
        // (type, block elements, block bytes) from ggml's type_traits
        let expected: [(Int32, Int64, Int)] = [
            (T.f32, 1, 4), (T.f16, 1, 2), (T.bf16, 1, 2), (T.q4_0, 32, 18), (T.q4_1, 32, 20),
            (T.q5_0, 32, 22), (T.q5_1, 32, 24), (T.q8_0, 32, 34), (T.q8_1, 32, 36),
            (T.q2_K, 256, 84), (T.q3_K, 256, 110), (T.q4_K, 256, 144), (T.q5_K, 256, 176),
            (T.q6_K, 256, 210), (T.q8_K, 256, 292),
        ]
        for (t, be, bb) in expected {
            #expect(magi_block_elems(t) == be, "\(typeName(t))")
            #expect(magi_block_bytes(t) == bb, "\(typeName(t))")
            #expect(magi_row_bytes(t, be * 7) == bb * 7, "\(typeName(t))")
        }
        #expect(magi_block_elems(4) == 0 && magi_block_bytes(4) == 0)
        #expect(magi_type_supported(T.q6_K) == 1 && magi_type_supported(99) == 0)
        #expect(magi_vec_dot_type(T.q4_0) == T.q8_0 && magi_vec_dot_type(T.q5_0) == T.q8_0)
        #expect(magi_vec_dot_type(T.q8_0) == T.q8_0)
        #expect(magi_vec_dot_type(T.q4_1) == T.q8_1 && magi_vec_dot_type(T.q5_1) == T.q8_1)
        for t in [T.q2_K, T.q3_K, T.q4_K, T.q5_K, T.q6_K] { #expect(magi_vec_dot_type(t) == T.q8_K) }
        for t in [T.f32, T.f16, T.bf16] { #expect(magi_vec_dot_type(t) == T.f32) }
    }

    @Test func fixturesCoverEveryWeightType() {
        let types = Set(allFixtures.map(\.type))
        for t in [T.f32, T.f16, T.bf16, T.q4_0, T.q4_1, T.q5_0, T.q5_1, T.q8_0,
                  T.q2_K, T.q3_K, T.q4_K, T.q5_K, T.q6_K] {
            #expect(types.contains(t), "missing fixture for \(typeName(t))")
            #expect(magi_type_supported(t) == 1)
        }
    }

    /// Every checking unit (block) of every type dequantizes bit-exactly to gguf's float32 output.
    @Test func dequantizeMatchesGGUF() {
        for isa in availableISAs { withISA(isa) {
            for f in allFixtures {
                let n = f.rows * f.cols
                #expect(magi_row_bytes(f.type, Int64(f.cols)) == f.rowBytes)
                let out = dequantize(f.type, f.raw, count: n)
                var bad = [Int]()
                for (k, h) in f.hashes.enumerated() {
                    let unit = out[(k * f.unitElems)..<((k + 1) * f.unitElems)]
                    if fnv1a64(floatBytes(unit)) != h { bad.append(k) }
                }
                #expect(bad.isEmpty, "\(f.name): \(bad.count) of \(f.hashes.count) blocks differ from gguf, first \(bad.prefix(5))")
                for i in 0..<f.full.count where out[i].bitPattern != f.full[i].bitPattern {
                    Issue.record("\(f.name) value \(i): got \(out[i]) expected \(f.full[i])")
                    break
                }
                // dequantizing a single block at an offset gives the same values
                let blk = f.blockElems == 1 ? 40 : f.blockElems
                let mid = f.hashes.count / 2
                let bytesPerUnit = magi_row_bytes(f.type, Int64(blk))
                let one = dequantize(f.type, Array(f.raw[(mid * bytesPerUnit)..<((mid + 1) * bytesPerUnit)]), count: blk)
                #expect(one == Array(out[(mid * blk)..<((mid + 1) * blk)]), "\(f.name)")
            }
        } }
    }

    /// All 65536 binary16 values: exact conversion (NaN stays NaN) in both paths.
    @Test func f16ConversionExhaustive() {
        for isa in availableISAs { withISA(isa) {
            var bytes = [UInt8]()
            for h in 0...0xFFFF { bytes.append(UInt8(h & 0xFF)); bytes.append(UInt8(h >> 8)) }
            let out = dequantize(T.f16, bytes, count: 65536)
            var mismatches = 0
            for h in 0...0xFFFF {
                let ref = Float(Float16(bitPattern: UInt16(h)))
                if ref.isNaN {
                    if !out[h].isNaN { mismatches += 1 }
                } else if out[h].bitPattern != ref.bitPattern {
                    mismatches += 1
                }
            }
            #expect(mismatches == 0, "\(isa)")
        } }
    }

    /// float -> binary16 rounding (used for Q8_0/Q8_1 scales) against Swift's Float16(Float).
    @Test func f32ToF16RoundsToNearestEven() {
        var g = SplitMix64(state: 77)
        var xs: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e10, .infinity, -.infinity,
                           0x1p-24, 0x1p-25, 0x1.0001p-25, 0x1.8p-24, 0x1p-14, 0x1.ffcp-15,
                           .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        for _ in 0..<200_000 { xs.append(Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))) }
        for k in 0..<5000 { xs.append(Float(bitPattern: 0x3300_0000 + UInt32(k) * 0x1000)) } // subnormal range
        let q = quantizeActivation(T.f16, xs)
        var bad = 0
        for (i, x) in xs.enumerated() {
            let got = UInt16(q[2 * i]) | UInt16(q[2 * i + 1]) << 8
            let ref = Float16(x)
            if ref.isNaN { if !Float16(bitPattern: got).isNaN { bad += 1 } }
            else if got != ref.bitPattern { bad += 1 }
        }
        #expect(bad == 0)
        // The KV cache's conversion, per instruction set.
        for isa in availableISAs { withISA(isa) {
            var half = [UInt16](repeating: 0, count: xs.count)
            magi_f32_to_f16(Int64(xs.count), xs, &half)
            var mismatches = 0
            for (x, h) in zip(xs, half) {
                let ref = Float16(x)
                if ref.isNaN ? !Float16(bitPattern: h).isNaN : h != ref.bitPattern { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(isa) f32_to_f16")
        } }
    }

    @Test func quantizeActivationRoundTrip() {
        for actType in [T.q8_0, T.q8_1, T.q8_K] {
            var x = fixtureActivation(seed: 99, count: 4096)
            for i in 256..<512 { x[i] = 0 }              // all-zero blocks
            x[700] = 1000; x[1300] = -3e-3               // an outlier, a tiny-scale block
            for i in 1280..<1536 where i != 1300 { x[i] *= 1e-4 }
            let q = quantizeActivation(actType, x)
            let back = dequantize(actType, q, count: x.count)
            let be = Int(magi_block_elems(actType)), bb = Int(magi_block_bytes(actType))
            for b in 0..<(x.count / be) {
                let blk = (b * be)..<((b + 1) * be)
                let amax = blk.map { abs(Double(x[$0])) }.max()!
                let d = amax / 127
                // half a step, plus fp16 rounding of the stored scale for Q8_0/Q8_1
                let tol = actType == T.q8_K ? d * (0.5 + 1e-4) : d * (0.5 + 127.0 / 2048 + 1e-4) + 127 * 0x1p-25
                var qsum = 0
                for i in blk {
                    #expect(abs(Double(back[i]) - Double(x[i])) <= tol, "\(typeName(actType)) element \(i)")
                    let off = actType == T.q8_K ? b * bb + 4 + (i - b * be) : b * bb + (actType == T.q8_1 ? 4 : 2) + (i - b * be)
                    let qi = Int(Int8(bitPattern: q[off]))
                    #expect(qi >= -127 && qi <= 127)
                    qsum += qi
                }
                if actType == T.q8_1 {
                    let s = Double(half(q, b * bb + 2)), dq = Double(half(q, b * bb))
                    #expect(abs(s - Double(qsum) * d) <= abs(s) * 0x1p-11 + 1e-9 + Double(abs(qsum)) * d * 1e-6)
                    #expect(abs(dq - d) <= d * 0x1p-11 + 0x1p-25)
                }
                if actType == T.q8_K {
                    for g in 0..<16 {
                        let off = b * bb + 4 + 256 + 2 * g
                        let bs = Int(Int16(bitPattern: UInt16(q[off]) | UInt16(q[off + 1]) << 8))
                        var s = 0
                        for l in 0..<16 { s += Int(Int8(bitPattern: q[b * bb + 4 + 16 * g + l])) }
                        #expect(bs == s)
                    }
                }
            }
        }
    }

    /// vec_dot of every row of every weight type, with every instruction set this CPU runs: within
    /// the float-rounding bound of what the integer kernel should compute, within the
    /// activation-quantization bound of the float64 exact dot, and SIMD equal to the scalar
    /// reference up to float rounding.
    @Test func vecDotMatchesReference() {
        var worst = [String: Double]()
        for f in allFixtures {
            let a = f.activation
            let actType = magi_vec_dot_type(f.type)
            let q = quantizeActivation(actType, a)
            let w = dequantize(f.type, f.raw, count: f.rows * f.cols)
            for r in 0..<f.rows {
                let row = f.raw[(r * f.rowBytes)..<((r + 1) * f.rowBytes)]
                let b = dotBounds(f, row: r, w: w[(r * f.cols)..<((r + 1) * f.cols)], a: a, actQ: q)
                let results = availableISAs.map { isa in
                    (isa, Double(withISA(isa) { vecDot(f.type, cols: f.cols, row: row, act: q) }))
                }
                let scalar = results[0].1
                for (label, k) in results {
                    #expect(abs(k - b.emulated) <= b.rounding,
                            "\(f.name) row \(r) \(label): \(k) vs emulated \(b.emulated) (bound \(b.rounding))")
                    let err = abs(k - f.dots[r]), bound = b.rounding + b.quantization
                    #expect(err <= bound, "\(f.name) row \(r) \(label): \(k) vs exact \(f.dots[r]) (bound \(bound))")
                    worst[f.name] = max(worst[f.name] ?? 0, err / bound)
                }
                for (label, k) in results.dropFirst() {
                    // same integer sums, different float accumulation order
                    #expect(abs(k - scalar) <= 2 * b.rounding, "\(f.name) row \(r): \(label) \(k) scalar \(scalar)")
                }
            }
        }
        print("vec_dot error / bound, worst row per type:",
              worst.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.3f", $0.value))" }.joined(separator: " "))
    }

    /// matvec over any row range equals per-row vec_dot, bit for bit (same per-row arithmetic).
    @Test func matvecEqualsVecDot() {
        for isa in availableISAs { withISA(isa) {
            for f in allFixtures {
                let q = quantizeActivation(magi_vec_dot_type(f.type), f.activation)
                let perRow = (0..<f.rows).map { r in
                    vecDot(f.type, cols: f.cols, row: f.raw[(r * f.rowBytes)..<((r + 1) * f.rowBytes)], act: q)
                }
                for range in [0..<f.rows, 1..<f.rows, 3..<10, 5..<6, 2..<2] {
                    let out = matvec(f, act: q, rows: range)
                    #expect(out.map(\.bitPattern) == perRow[range].map(\.bitPattern),
                            "\(isa) \(f.name) rows \(range): \(out) vs \(Array(perRow[range]))")
                }
            }
        } }
    }

    @Test func floatKernels() {
        for isa in availableISAs { withISA(isa) {
            var g = SplitMix64(state: 5)
            func rnd() -> Float { Float(Int64(bitPattern: g.next()) >> 40) * 0x1p-20 }
            for n in Array(0...70) + [127, 128, 129, 1000, 4099] {
                let a = (0..<n).map { _ in rnd() }, b = (0..<n).map { _ in rnd() }
                var exact = 0.0, mag = 0.0
                for i in 0..<n { exact += Double(a[i]) * Double(b[i]); mag += abs(Double(a[i]) * Double(b[i])) }
                let got = magi_dot_f32(Int64(n), a, b)
                #expect(abs(Double(got) - exact) <= (Double(n) / 8 + 16) * u32 * mag, "\(isa) dot_f32 n=\(n)")
                let alpha = rnd()
                var y = b
                magi_axpy_f32(Int64(n), alpha, a, &y)
                for i in 0..<n {
                    let ref = Double(alpha) * Double(a[i]) + Double(b[i])
                    let tol = 2 * u32 * (abs(Double(alpha) * Double(a[i])) + abs(Double(b[i])))
                    if abs(Double(y[i]) - ref) > tol { Issue.record("\(isa) axpy n=\(n) i=\(i): \(y[i]) vs \(ref)"); break }
                }
                let half = a.map { Float16($0).bitPattern }
                y = b
                magi_axpy_f16(Int64(n), alpha, half, &y)
                for i in 0..<n {
                    let x = Double(Float(Float16(bitPattern: half[i])))
                    let ref = Double(alpha) * x + Double(b[i])
                    let tol = 2 * u32 * (abs(Double(alpha) * x) + abs(Double(b[i])))
                    if abs(Double(y[i]) - ref) > tol { Issue.record("\(isa) axpy_f16 n=\(n) i=\(i): \(y[i]) vs \(ref)"); break }
                }
            }
        } }
    }

    /// Softmax and SwiGLU (SIMD exp) against float64 on every path, including tails and extremes.
    @Test func activationKernels() {
        for isa in availableISAs { withISA(isa) {
            var g = SplitMix64(state: 11)
            for n in [1, 7, 8, 9, 31, 64, 100, 513] {
                let x = (0..<n).map { i in i == 3 ? Float(-200) : Float(Int64(bitPattern: g.next()) >> 40) * 0x1p-19 }
                var sm = x
                magi_softmax_f32(Int64(n), &sm)
                let m = Double(x.max()!), z = x.reduce(0.0) { $0 + exp(Double($1) - m) }
                for i in 0..<n {
                    let ref = exp(Double(x[i]) - m) / z
                    // exp to a few ulp, the sum of n terms to n ulp (sequential in the scalar path)
                    if abs(Double(sm[i]) - ref) > (8 + Double(n)) * u32 * ref + 1e-37 { Issue.record("\(isa) softmax n=\(n) i=\(i): \(sm[i]) vs \(ref)"); break }
                }
                let up = (0..<n).map { _ in Float(Int64(bitPattern: g.next()) >> 40) * 0x1p-22 }
                var gate = x.map { $0 * 4 }
                magi_swiglu_f32(Int64(n), &gate, up)
                for i in 0..<n {
                    let v = Double(x[i] * 4), ref = v / (1 + exp(-v)) * Double(up[i])
                    if abs(Double(gate[i]) - ref) > 4e-7 * abs(ref) + 1e-30 { Issue.record("\(isa) swiglu n=\(n) i=\(i): \(gate[i]) vs \(ref)"); break }
                }
            }
        } }
    }

    /// Attention's weighted sum of value rows (half and float), every width tail, every path.
    @Test func weightedSum() {
        for isa in availableISAs { withISA(isa) {
            var g = SplitMix64(state: 13)
            for (n, width) in [(1, 64), (5, 64), (37, 128), (3, 70), (9, 7)] {
                let values = (0..<(n * width)).map { _ in Float(Int64(bitPattern: g.next()) >> 40) * 0x1p-20 }
                let w = (0..<n).map { _ in Float(g.next() >> 40) * 0x1p-24 }
                let half = values.map { Float16($0).bitPattern }
                for type in [T.f32, T.f16] {
                    var out = [Float](repeating: .nan, count: width)
                    if type == T.f16 {
                        magi_weighted_sum(type, half, width * 2, Int64(n), Int64(width), w, &out)
                    } else {
                        magi_weighted_sum(type, values, width * 4, Int64(n), Int64(width), w, &out)
                    }
                    for c in 0..<width {
                        var ref = 0.0, mag = 0.0
                        for t in 0..<n {
                            let v = type == T.f16 ? Double(Float(Float16(bitPattern: half[t * width + c]))) : Double(values[t * width + c])
                            ref += Double(w[t]) * v; mag += abs(Double(w[t]) * v)
                        }
                        if abs(Double(out[c]) - ref) > Double(n + 2) * u32 * mag { Issue.record("\(isa) \(typeName(type)) n=\(n) width=\(width) col \(c): \(out[c]) vs \(ref)"); break }
                    }
                }
            }
        } }
    }

    @Test func simdPathSelected() throws {
        let isa = String(cString: magi_kernel_isa())
        #expect(["avx512vnni", "avx512", "avx2", "neon", "scalar"].contains(isa))
        withScalar(true) { #expect(String(cString: magi_kernel_isa()) == "scalar") }
        #expect(String(cString: magi_kernel_isa()) == isa)
        #if arch(x86_64)
        // Linux: read the CPU flags; the dispatcher must not fall back to scalar on AVX2 machines.
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) {
            let flags = Set(flagsLine.split(separator: " ").map(String.init))
            if flags.isSuperset(of: ["avx2", "fma", "f16c"]) { #expect(isa != "scalar") }
            if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"]) {
                #expect(isa == "avx512vnni")
            }
        }
        #elseif arch(arm64)
        #expect(isa == "neon")
        #endif
        print("magi_kernel_isa() = \(isa); kernels tested: \(availableISAs)")
    }
}
