import Foundation
import MagiKernels

/// One tensor type's reference data from Fixtures/kernels.bin (see scripts/gen-kernel-fixtures.py).
struct KernelFixture {
    let type: Int32
    let blockElems: Int
    let blockBytes: Int
    let rows: Int
    let blocksPerRow: Int
    /// Values per hashed checking unit (a block for quantized types).
    let unitElems: Int
    let seed: UInt64
    let raw: [UInt8]
    let hashes: [UInt64]
    /// gguf's dequantized values of the first `full.count / unitElems` units.
    let full: [Float]
    /// float64 exact dot of each dequantized row with `activation`.
    let dots: [Double]

    var cols: Int { blocksPerRow * blockElems }
    var rowBytes: Int { blocksPerRow * blockBytes }
    var name: String { typeName(type) }
    var activation: [Float] { fixtureActivation(seed: seed, count: cols) }
}

func typeName(_ t: Int32) -> String {
    switch t {
    case 0: return "F32"
    case 1: return "F16"
    case 2: return "Q4_0"
    case 3: return "Q4_1"
    case 6: return "Q5_0"
    case 7: return "Q5_1"
    case 8: return "Q8_0"
    case 9: return "Q8_1"
    case 10: return "Q2_K"
    case 11: return "Q3_K"
    case 12: return "Q4_K"
    case 13: return "Q5_K"
    case 14: return "Q6_K"
    case 15: return "Q8_K"
    case 30: return "BF16"
    default: return "type\(t)"
    }
}

enum T {
    static let f32 = Int32(MAGI_TYPE_F32.rawValue)
    static let f16 = Int32(MAGI_TYPE_F16.rawValue)
    static let bf16 = Int32(MAGI_TYPE_BF16.rawValue)
    static let q4_0 = Int32(MAGI_TYPE_Q4_0.rawValue)
    static let q4_1 = Int32(MAGI_TYPE_Q4_1.rawValue)
    static let q5_0 = Int32(MAGI_TYPE_Q5_0.rawValue)
    static let q5_1 = Int32(MAGI_TYPE_Q5_1.rawValue)
    static let q8_0 = Int32(MAGI_TYPE_Q8_0.rawValue)
    static let q8_1 = Int32(MAGI_TYPE_Q8_1.rawValue)
    static let q2_K = Int32(MAGI_TYPE_Q2_K.rawValue)
    static let q3_K = Int32(MAGI_TYPE_Q3_K.rawValue)
    static let q4_K = Int32(MAGI_TYPE_Q4_K.rawValue)
    static let q5_K = Int32(MAGI_TYPE_Q5_K.rawValue)
    static let q6_K = Int32(MAGI_TYPE_Q6_K.rawValue)
    static let q8_K = Int32(MAGI_TYPE_Q8_K.rawValue)
}

/// splitmix64, as in the generator script.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// x = ((u >> 40) / 2^23 - 1) * 2^((u & 7) - 4), exact in Float (same as the generator).
func fixtureActivation(seed: UInt64, count: Int) -> [Float] {
    var g = SplitMix64(state: seed)
    return (0..<count).map { _ in
        let u = g.next()
        let v = Double(u >> 40) * 0x1p-23 - 1.0
        return Float(v * Double(sign: .plus, exponent: Int(u & 7) - 4, significand: 1.0))
    }
}

func fnv1a64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01B3
    }
    return h
}

func floatBytes(_ v: ArraySlice<Float>) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(v.count * 4)
    for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
    return out
}

enum FixtureError: Error { case badFile(String) }

struct FixtureReader {
    let data: [UInt8]
    var pos = 0
    mutating func bytes(_ n: Int) throws -> ArraySlice<UInt8> {
        guard pos + n <= data.count else { throw FixtureError.badFile("truncated at \(pos)") }
        defer { pos += n }
        return data[pos..<pos + n]
    }
    mutating func u32() throws -> UInt32 {
        try bytes(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64() throws -> UInt64 {
        try bytes(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
}

let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("kernels.bin")

/// All fixtures, loaded once.
let allFixtures: [KernelFixture] = {
    guard let d = try? Data(contentsOf: fixtureURL) else {
        fatalError("cannot read \(fixtureURL.path); run scripts/gen-kernel-fixtures.py")
    }
    do {
        var r = FixtureReader(data: [UInt8](d))
        guard String(decoding: try r.bytes(8), as: UTF8.self) == "MAGIFIX1" else {
            throw FixtureError.badFile("bad magic")
        }
        let count = Int(try r.u32())
        var out = [KernelFixture]()
        for _ in 0..<count {
            let type = Int32(try r.u32())
            let be = Int(try r.u32()), bb = Int(try r.u32()), rows = Int(try r.u32())
            let bpr = Int(try r.u32()), unit = Int(try r.u32()), nfull = Int(try r.u32())
            let seed = try r.u64()
            let raw = Array(try r.bytes(rows * bpr * bb))
            let nunits = rows * bpr * be / unit
            var hashes = [UInt64]()
            for _ in 0..<nunits { hashes.append(try r.u64()) }
            var full = [Float]()
            for _ in 0..<(nfull * unit) { full.append(Float(bitPattern: try r.u32())) }
            var dots = [Double]()
            for _ in 0..<rows { dots.append(Double(bitPattern: try r.u64())) }
            out.append(KernelFixture(type: type, blockElems: be, blockBytes: bb, rows: rows,
                                     blocksPerRow: bpr, unitElems: unit, seed: seed, raw: raw,
                                     hashes: hashes, full: full, dots: dots))
        }
        return out
    } catch {
        fatalError("bad fixture file: \(error)")
    }
}()

// MARK: - helpers around the C API

func dequantize(_ type: Int32, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { dst in
            magi_dequantize(type, src.baseAddress, dst.baseAddress, Int64(count))
        }
    }
    return out
}

func quantizeActivation(_ actType: Int32, _ x: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: magi_row_bytes(actType, Int64(x.count)))
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { dst in
            magi_quantize_activation(actType, src.baseAddress, dst.baseAddress, Int64(x.count))
        }
    }
    return out
}

func vecDot(_ type: Int32, cols: Int, row: ArraySlice<UInt8>, act: [UInt8]) -> Float {
    row.withUnsafeBytes { w in
        act.withUnsafeBytes { a in magi_vec_dot(type, Int64(cols), w.baseAddress, a.baseAddress) }
    }
}

func matvec(_ f: KernelFixture, act: [UInt8], rows: Range<Int>) -> [Float] {
    var out = [Float](repeating: .nan, count: rows.count)
    f.raw.withUnsafeBytes { w in
        act.withUnsafeBytes { a in
            out.withUnsafeMutableBufferPointer { o in
                magi_matvec(f.type, w.baseAddress, f.rowBytes, Int64(f.cols), a.baseAddress,
                            o.baseAddress, Int64(rows.lowerBound), Int64(rows.upperBound))
            }
        }
    }
    return out
}

func half(_ bytes: [UInt8], _ offset: Int) -> Float {
    Float(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8))
}

/// Instruction sets this CPU can run: the scalar reference first, the dispatcher's choice last.
let availableISAs: [String] = {
    let best = String(cString: magi_kernel_isa())
    var out = ["scalar"]
    for isa in ["avx2", "avx512", "avx512vnni", "neon"] where isa != best {
        if magi_force_isa(isa) == 1 { out.append(isa) }
    }
    magi_force_isa(nil)
    if best != "scalar" { out.append(best) }
    return out
}()

/// Runs `body` with the kernels of `isa` forced, then restores run-time dispatch.
func withISA<R>(_ isa: String, _ body: () throws -> R) rethrows -> R {
    isaLock.lock()
    defer { isaLock.unlock() }
    precondition(magi_force_isa(isa) == 1, "\(isa) not available")
    defer { magi_force_isa(nil) }
    return try body()
}

/// Held while a test forces an instruction set: the choice is process-wide, and suites run in
/// parallel, so without it one suite's scalar run could switch another's kernels mid-comparison.
let isaLock = NSRecursiveLock()

/// Runs `body` with the scalar reference forced (true) and with run-time dispatch (false).
func withScalar<R>(_ on: Bool, _ body: () throws -> R) rethrows -> R {
    isaLock.lock()
    defer { isaLock.unlock() }
    magi_force_scalar(on ? 1 : 0)
    defer { magi_force_scalar(0) }
    return try body()
}
