import MagiKernels
import Testing

/// Quantizes `x` (n rows of k) into the gemm activation format of `type`.
func gemmQuantize(_ type: Int32, _ x: [Float], k: Int, n: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: magi_gemm_activation_bytes(type, Int64(k), Int64(n)))
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { magi_gemm_quantize(type, src.baseAddress, Int64(k), Int64(k), Int64(n), $0.baseAddress) }
    }
    return out
}

/// magi_gemm over weight rows `rows` into an n × ldy matrix `y` (initially NaN), adding to it
/// when `accumulate`.
func gemm(_ f: KernelFixture, act: [UInt8], n: Int, rows: Range<Int>, ldy: Int,
          into initial: [Float]? = nil, accumulate: Bool = false) -> [Float] {
    var y = initial ?? [Float](repeating: .nan, count: n * ldy)
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: magi_gemm_scratch_bytes(f.type, Int64(f.cols)), alignment: 64)
    defer { scratch.deallocate() }
    f.raw.withUnsafeBytes { w in
        act.withUnsafeBytes { a in
            y.withUnsafeMutableBufferPointer { o in
                magi_gemm(f.type, w.baseAddress, f.rowBytes, Int64(f.cols), a.baseAddress, Int64(n), o.baseAddress,
                          Int64(ldy), Int64(rows.lowerBound), Int64(rows.upperBound), scratch, accumulate ? 1 : 0)
            }
        }
    }
    return y
}

@Suite(.serialized)
struct GemmTests {
    static let types = [T.q4_0, T.q4_1, T.q5_0, T.q5_1, T.q8_0, T.q2_K, T.q3_K, T.q4_K, T.q5_K, T.q6_K]
    /// 11 activation rows: one full tile of 8 and a remainder of 3.
    static let batch = 11

    @Test func groupsAndAvailability() {
        for t in Self.types { #expect(magi_gemm_group(t) == ([T.q2_K, T.q3_K, T.q6_K].contains(t) ? 16 : 32)) }
        for t in [T.f32, T.f16, T.bf16, T.q8_1, T.q8_K] { #expect(magi_gemm_group(t) == 0 && magi_gemm_fast(t) == 0) }
        withScalar(true) { #expect(magi_gemm_fast(T.q4_0) == 0) }
        for isa in availableISAs where ["avx2", "avx512", "avx512vnni"].contains(isa) {
            withISA(isa) { #expect(magi_gemm_fast(T.q4_0) == 1 && magi_gemm_fast(T.q6_K) == 1, "\(isa)") }
        }
    }

    /// Activations: within half a step of the input per group, s = d·Σq, identical bytes in every path.
    @Test func quantizedActivationsAgreeAcrossISAs() {
        for group in [16, 32] {
            let type = group == 16 ? T.q6_K : T.q4_0
            let k = 512, n = 3
            var x = fixtureActivation(seed: 7, count: k * n)
            for i in 64..<96 { x[i] = 0 }       // an all-zero group
            x[200] = 1000                          // an outlier
            let ref = withISA("scalar") { gemmQuantize(type, x, k: k, n: n) }
            let stride = ref.count / n, ng = k / group
            for j in 0..<n {
                ref.withUnsafeBytes { raw in
                    let base = raw.baseAddress! + j * stride
                    let d = base.assumingMemoryBound(to: Float.self), s = d + ng
                    let q = (base + 8 * ng).assumingMemoryBound(to: UInt8.self)
                    for g in 0..<ng {
                        var sum = 0
                        for i in 0..<group {
                            let v = Int(q[g * group + i]) - 128
                            sum += v
                            let back = Float(v) * d[g], orig = x[j * k + g * group + i]
                            #expect(abs(back - orig) <= d[g] * 0.5001 + 1e-30, "group \(group) row \(j) value \(g * group + i)")
                        }
                        #expect(s[g] == d[g] * Float(sum))
                    }
                }
            }
            for isa in availableISAs.dropFirst() {
                #expect(withISA(isa) { gemmQuantize(type, x, k: k, n: n) } == ref, "\(isa) group \(group)")
            }
        }
    }

    /// Every weight type, every path: each output within float rounding of the dot of gguf's
    /// dequantized row with the dequantized activation, within the quantization bound of the exact
    /// float64 dot, untouched outside the requested rows, and SIMD close to the scalar reference.
    @Test func gemmMatchesDequantizedProduct() {
        for f in allFixtures where Self.types.contains(f.type) {
            let k = f.cols, n = Self.batch, group = Int(magi_gemm_group(f.type)), ng = k / group
            var x = [Float]()
            for j in 0..<n { x += fixtureActivation(seed: f.seed &+ UInt64(j), count: k) }
            let act = gemmQuantize(f.type, x, k: k, n: n)
            let stride = act.count / n
            let w = dequantize(f.type, f.raw, count: f.rows * k)
            let rowMax = (0..<f.rows).map { r in w[(r * k)..<((r + 1) * k)].map { abs(Double($0)) }.max()! }
            // emulated[j][r], rounding bound, quantization bound
            var emulated = [[Double]](), rounding = [[Double]](), quant = [[Double]](), exact = [[Double]]()
            act.withUnsafeBytes { raw in
                for j in 0..<n {
                    let base = raw.baseAddress! + j * stride
                    let d = base.assumingMemoryBound(to: Float.self)
                    let q = (base + 8 * ng).assumingMemoryBound(to: UInt8.self)
                    let ahat = (0..<k).map { Double(Int(q[$0]) - 128) * Double(d[$0 / group]) }
                    var e = [Double](), rb = [Double](), qb = [Double](), ex = [Double]()
                    for r in 0..<f.rows {
                        var s = 0.0, mag = 0.0, qe = 0.0, xs = 0.0
                        for i in 0..<k {
                            let wi = Double(w[r * k + i])
                            s += wi * ahat[i]
                            xs += wi * Double(x[j * k + i])
                            mag += (abs(wi) + rowMax[r]) * abs(ahat[i])
                            qe += abs(wi) * Double(d[i / group]) * 0.5001
                        }
                        e.append(s); rb.append((Double(ng) + 16) * u32 * mag); qb.append(qe); ex.append(xs)
                    }
                    emulated.append(e); rounding.append(rb); quant.append(qb); exact.append(ex)
                }
            }
            var scalar = [Float]()
            for isa in availableISAs {
                let ldy = f.rows + 3
                let y = withISA(isa) { gemm(f, act: act, n: n, rows: 0..<f.rows, ldy: ldy) }
                if isa == "scalar" { scalar = y }
                for j in 0..<n {
                    for r in 0..<f.rows {
                        let got = Double(y[j * ldy + r])
                        #expect(abs(got - emulated[j][r]) <= rounding[j][r],
                                "\(isa) \(f.name) act \(j) row \(r): \(got) vs emulated \(emulated[j][r]) (bound \(rounding[j][r]))")
                        #expect(abs(got - exact[j][r]) <= rounding[j][r] + quant[j][r], "\(isa) \(f.name) act \(j) row \(r) vs exact")
                        #expect(abs(got - Double(scalar[j * ldy + r])) <= 2 * rounding[j][r], "\(isa) \(f.name) vs scalar")
                    }
                    for r in f.rows..<ldy { #expect(y[j * ldy + r].isNaN, "\(isa) \(f.name) wrote past the rows") }
                }
                // accumulating adds to what is there
                var base = [Float](repeating: .nan, count: n * ldy)
                for j in 0..<n { for r in 0..<f.rows { base[j * ldy + r] = Float(j + r) * 0.25 } }
                let sum = withISA(isa) { gemm(f, act: act, n: n, rows: 0..<f.rows, ldy: ldy, into: base, accumulate: true) }
                for j in 0..<n {
                    for r in 0..<f.rows {
                        #expect(sum[j * ldy + r] == base[j * ldy + r] + y[j * ldy + r], "\(isa) \(f.name) accumulate")
                    }
                    for r in f.rows..<ldy { #expect(sum[j * ldy + r].isNaN) }
                }
                // a row range starting inside the matrix writes exactly those rows, with the same values
                let part = withISA(isa) { gemm(f, act: act, n: n, rows: 3..<10, ldy: ldy) }
                for j in 0..<n {
                    for r in 0..<ldy {
                        if (3..<10).contains(r) {
                            #expect(part[j * ldy + r].bitPattern == y[j * ldy + r].bitPattern, "\(isa) \(f.name) rows 3..<10")
                        } else {
                            #expect(part[j * ldy + r].isNaN, "\(isa) \(f.name) rows 3..<10 wrote row \(r)")
                        }
                    }
                }
            }
        }
    }
}
