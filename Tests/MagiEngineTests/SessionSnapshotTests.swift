import Foundation
@testable import MagiEngine
import MagiTokenizer
import Testing

/// Saving a session's tokens and KV cache and restoring them into a fresh session: the restored
/// session continues bit for bit like the original; every damaged or foreign snapshot is refused
/// with the session left as it was.
@Suite(.serialized) struct SessionSnapshotTests {
    // MARK: Tiny random-weight models, so the refusals run without the default model.

    /// A llama GGUF with F32 weights drawn from `seed`: `layers` blocks, 32 wide, 4 query heads over
    /// 2 key/value heads of 8, a vocabulary of 32.
    static func tinyModel(seed: UInt64, layers: Int = 2) throws -> LlamaModel {
        let d = 32, heads = 4, kvHeads = 2, headSize = 8, ff = 64, vocab = 32
        var tensors: [(String, [Int])] = [("token_embd.weight", [d, vocab]), ("output_norm.weight", [d])]
        for i in 0..<layers {
            let p = "blk.\(i)."
            tensors += [(p + "attn_norm.weight", [d]), (p + "attn_q.weight", [d, heads * headSize]),
                        (p + "attn_k.weight", [d, kvHeads * headSize]), (p + "attn_v.weight", [d, kvHeads * headSize]),
                        (p + "attn_output.weight", [heads * headSize, d]), (p + "ffn_norm.weight", [d]),
                        (p + "ffn_gate.weight", [d, ff]), (p + "ffn_up.weight", [d, ff]), (p + "ffn_down.weight", [ff, d])]
        }
        let keys: [(String, UInt32)] = [("block_count", UInt32(layers)), ("embedding_length", UInt32(d)),
                                        ("feed_forward_length", UInt32(ff)), ("attention.head_count", UInt32(heads)),
                                        ("attention.head_count_kv", UInt32(kvHeads)), ("context_length", 64)]
        var b = GGUFBuilder()
        b.header(tensors: UInt64(tensors.count), keys: UInt64(keys.count + 1))
        b.string("general.architecture"); b.u32(8); b.string("llama")
        for (k, v) in keys { b.string("llama." + k); b.u32(4); b.u32(v) }
        var offset: UInt64 = 0
        for (name, shape) in tensors {
            b.string(name); b.u32(UInt32(shape.count))
            for s in shape { b.u64(UInt64(s)) }
            b.u32(0); b.u64(offset)
            let bytes: Int = shape.reduce(1, *) * 4
            offset += UInt64((bytes + 31) / 32 * 32)
        }
        b.pad(to: 32)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        for (_, shape) in tensors {
            let isNorm = shape.count == 1
            for _ in 0..<shape.reduce(1, *) {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                let x: Float = isNorm ? 1 : (Float(state % 2001) / 1000 - 1) * 0.3
                withUnsafeBytes(of: x.bitPattern.littleEndian) { b.bytes += $0 }
            }
            b.pad(to: 32)
        }
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) } // the mapping outlives the name
        return try LlamaModel(path: path)
    }

    static let tinyPrompt: [Int32] = [1, 7, 30, 4, 19]

    /// Logits after evaluating `next`, as an array.
    func logits(_ s: InferenceSession, _ next: [Int32]) throws -> [Float] { Array(try s.evaluate(next)) }

    func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    // MARK: Round trips

    /// Bytes of `values` cached values in `type`: 2 or 4 each, or 34 for each block of 32 in 8 bits.
    static func storedBytes(_ type: KVCacheType, values: Int) -> Int {
        switch type {
        case .f16: values * 2
        case .f32: values * 4
        case .q8_0: values / 32 * 34
        }
    }

    /// The tiny model's heads of 8 values are too narrow for 8-bit blocks of 32.
    @Test(arguments: [KVCacheType.f16, .f32]) func tinyModelRoundTripIsBitwise(type: KVCacheType) throws {
        let model = try Self.tinyModel(seed: 1)
        let a = InferenceSession(model: model, contextSize: 32, threads: 1, cacheType: type)
        try a.evaluate(Self.tinyPrompt)
        let data = a.snapshot()
        let b = InferenceSession(model: model, contextSize: 32, threads: 1, cacheType: type)
        try b.restore(from: data)
        #expect(b.tokens == Self.tinyPrompt)
        #expect(bitwiseEqual(try logits(a, [3]), try logits(b, [3])))
        #expect(bitwiseEqual(try logits(a, [5, 6, 9]), try logits(b, [5, 6, 9])))
        // A snapshot of an empty session empties a session.
        let empty = InferenceSession(model: model, contextSize: 32, threads: 1, cacheType: type).snapshot()
        #expect(empty.count == 48)
        try b.restore(from: empty)
        #expect(b.tokens.isEmpty)
        #expect(bitwiseEqual(try logits(b, Self.tinyPrompt), try logits(InferenceSession(model: model, contextSize: 32, threads: 1, cacheType: type), Self.tinyPrompt)))
    }

    /// SmolLM2, about 50 tokens, both cache types: the restored session's next logits are the
    /// original's, bit for bit, on the decode path and on the batched path.
    @Test(.enabled(if: TestEnvironment.hasModel), arguments: KVCacheType.allCases)
    func restoredSessionContinuesBitwise(type: KVCacheType) throws {
        let model = try LlamaModel(path: TestEnvironment.modelPath)
        let prompt = try Self.smolPrompt(model)
        #expect(prompt.count >= 45 && prompt.count <= 60)
        let a = InferenceSession(model: model, contextSize: 256, threads: 2, cacheType: type)
        try a.evaluate(prompt)
        let data = a.snapshot()
        let c = model.configuration
        let rows = prompt.count * c.layerCount * c.kvHeadCount * Self.storedBytes(type, values: c.headSize + c.valueSize)
        #expect(data.count == 48 + 32 + 4 * prompt.count + rows)
        let b = InferenceSession(model: model, contextSize: 256, threads: 2, cacheType: type)
        try b.restore(from: data)
        #expect(b.tokens == prompt)
        #expect(bitwiseEqual(try logits(a, [504]), try logits(b, [504])))
        #expect(bitwiseEqual(try logits(a, [314, 3558, 28, 253]), try logits(b, [314, 3558, 28, 253])))
        // And a snapshot of the restored session is the original's snapshot.
        b.rewind(to: prompt.count)
        #expect(Bool(b.snapshot() == data)) // (Bool: a failure must not diff megabytes)
    }

    /// A snapshot of one cache type restores into a session of the other, converted; the result is
    /// close to what the session would have computed itself.
    @Test(.enabled(if: TestEnvironment.hasModel), arguments: [(KVCacheType.f16, KVCacheType.f32), (.f32, .f16), (.f16, .q8_0), (.q8_0, .f32)])
    func convertsBetweenCacheTypes(from: KVCacheType, to: KVCacheType) throws {
        let model = try LlamaModel(path: TestEnvironment.modelPath)
        let prompt = try Self.smolPrompt(model)
        let a = InferenceSession(model: model, contextSize: 128, threads: 2, cacheType: from)
        try a.evaluate(prompt)
        let b = InferenceSession(model: model, contextSize: 128, threads: 2, cacheType: to)
        try b.restore(from: a.snapshot())
        #expect(b.tokens == prompt)
        let native = InferenceSession(model: model, contextSize: 128, threads: 2, cacheType: to)
        try native.evaluate(prompt)
        let saved = a.snapshot()
        let x = try logits(b, [504]), y = try logits(native, [504]), z = try logits(a, [504])
        func worst(_ p: [Float], _ q: [Float]) -> Float { zip(p, q).map { abs($0 - $1) }.max()! }
        // Half and single precision caches differ by a few per cent of the logit range on their
        // own; the converted session is no further from either than they are from each other.
        let between = worst(y, z), scale = y.map(abs).max()!
        print("\(from) to \(to): restored vs native \(worst(x, y)), restored vs source \(worst(x, z)), native f16 vs f32 \(between) of \(scale)")
        #expect(worst(x, y) <= 1.5 * between + 1e-3 * scale && worst(x, z) <= 1.5 * between + 1e-3 * scale)
        #expect(x.indices.max { x[$0] < x[$1] } == y.indices.max { y[$0] < y[$1] })
        // The f16 → f32 conversion is exact: converting back gives the same bytes.
        if from == .f16 && to == .f32 {
            let back = InferenceSession(model: model, contextSize: 128, threads: 2, cacheType: .f16)
            b.rewind(to: prompt.count)
            try back.restore(from: b.snapshot())
            #expect(Bool(back.snapshot() == saved)) // (Bool: a failure must not diff megabytes)
        }
    }

    static func smolPrompt(_ model: LlamaModel) throws -> [Int32] {
        let tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: model.file))
        return tokenizer.encode("""
            The lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a small \
            lantern and a notebook in which he wrote down the ships he saw, the colour of the sea and \
            the direction of the wind. On clear nights he could count the lights of the fishing boats \
            out beyond the reef.
            """, addSpecial: true, parseSpecial: false)
    }

    // MARK: Refusals

    /// `restore` throws `expected`, and both a fresh session and one holding tokens are as they were.
    func expectRefused(_ data: Data, _ expected: SessionSnapshotError, model: LlamaModel, contextSize: Int = 32,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fresh = InferenceSession(model: model, contextSize: contextSize, threads: 1)
        #expect(throws: expected, sourceLocation: sourceLocation) { try fresh.restore(from: data) }
        #expect(fresh.tokens.isEmpty, sourceLocation: sourceLocation)
        let twin = InferenceSession(model: model, contextSize: contextSize, threads: 1)
        #expect(bitwiseEqual(try logits(fresh, [2, 3]), try logits(twin, [2, 3])), sourceLocation: sourceLocation)
        #expect(throws: expected, sourceLocation: sourceLocation) { try fresh.restore(from: data) }
        #expect(fresh.tokens == [2, 3], sourceLocation: sourceLocation)
        #expect(bitwiseEqual(try logits(fresh, [4]), try logits(twin, [4])), sourceLocation: sourceLocation)
    }

    func tinySnapshot(_ model: LlamaModel, type: KVCacheType = .f16) throws -> Data {
        let s = InferenceSession(model: model, contextSize: 32, threads: 1, cacheType: type)
        try s.evaluate(Self.tinyPrompt)
        return s.snapshot()
    }

    @Test func refusesGarbage() throws {
        let model = try Self.tinyModel(seed: 1)
        try expectRefused(Data("GGUF and then some".utf8), .notASnapshot, model: model)
        try expectRefused(Data("MAGI".utf8 + [0]), .notASnapshot, model: model)
        var random = SystemRandomNumberGenerator()
        try expectRefused(Data((0..<1000).map { _ in UInt8.random(in: 0...0x4C, using: &random) }), .notASnapshot, model: model)
    }

    @Test func refusesEveryTruncatedHeader() throws {
        let model = try Self.tinyModel(seed: 1)
        let data = try tinySnapshot(model)
        // 48 header + 32 chunk header + 5 ids + 2 layers × 2 heads × 5 positions × (8 + 8) halves.
        #expect(data.count == 48 + 32 + 5 * 4 + 2 * 2 * 5 * 16 * 2)
        let fresh = InferenceSession(model: model, contextSize: 32, threads: 1)
        for n in 0..<48 {
            #expect(throws: SessionSnapshotError.truncated(size: n, needed: 48)) { try fresh.restore(from: data.prefix(n)) }
            #expect(fresh.tokens.isEmpty)
        }
        for n in [0, 5, 8, 47] {
            try expectRefused(data.prefix(n), .truncated(size: n, needed: 48), model: model)
        }
    }

    @Test func refusesOtherVersionsAndMalformedHeaders() throws {
        let model = try Self.tinyModel(seed: 1)
        let data = try tinySnapshot(model)
        func altered(_ offset: Int, _ byte: UInt8) -> Data { var d = data; d[offset] = byte; return d }
        try expectRefused(altered(6, 1), .unsupportedVersion(1), model: model) // the unappendable format of before
        try expectRefused(altered(6, 3), .unsupportedVersion(3), model: model)
        try expectRefused(altered(7, 1), .unsupportedVersion(258), model: model)
        try expectRefused(altered(6, 0), .unsupportedVersion(0), model: model)
        try expectRefused(altered(32, 7), .malformed("unknown cache type 7"), model: model)
        try expectRefused(altered(35, 1), .malformed("reserved header bytes are not zero"), model: model)
        try expectRefused(altered(47, 1), .malformed("reserved header bytes are not zero"), model: model)
        for e in [SessionSnapshotError.notASnapshot, .unsupportedVersion(2), .anotherModel, .tooManyTokens(count: 5, contextSize: 4),
                  .truncated(size: 3, needed: 48), .malformed("x"), .unreadable(operation: "open", code: ENOENT)] {
            #expect(!e.description.isEmpty && !e.description.contains("\n"))
        }
    }

    @Test func refusesAnotherModel() throws {
        let model = try Self.tinyModel(seed: 1)
        let data = try tinySnapshot(model)
        // Same shapes, other weights; another depth; a changed fingerprint byte; a changed shape field.
        try expectRefused(data, .anotherModel, model: try Self.tinyModel(seed: 2))
        try expectRefused(data, .anotherModel, model: try Self.tinyModel(seed: 1, layers: 3))
        var d = data; d[12] ^= 1
        try expectRefused(d, .anotherModel, model: model)
        d = data; d[20] = 1
        try expectRefused(d, .anotherModel, model: model)
        #expect(try Self.tinyModel(seed: 1).fingerprint == model.fingerprint)
        if TestEnvironment.hasModel {
            let smol = try LlamaModel(path: TestEnvironment.modelPath)
            try expectRefused(data, .anotherModel, model: smol)
        }
    }

    @Test func refusesMoreTokensThanTheWindow() throws {
        let model = try Self.tinyModel(seed: 1)
        let data = try tinySnapshot(model)
        try expectRefused(data, .tooManyTokens(count: 5, contextSize: 4), model: model, contextSize: 4)
        // A chunk claiming more positions than its bytes hold is a torn chunk: nothing loads.
        var huge = data
        huge.replaceSubrange(48 + 16..<48 + 24, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let s0 = InferenceSession(model: model, contextSize: 32, threads: 1)
        try s0.evaluate([2])
        #expect(try s0.restore(from: huge) == SessionRestore(tokens: 0, ignoredBytes: huge.count - 48))
        #expect(s0.tokens.isEmpty)
        // Exactly the window fits.
        let s = InferenceSession(model: model, contextSize: 5, threads: 1)
        try s.restore(from: data)
        #expect(s.tokens == Self.tinyPrompt)
        #expect(throws: ModelError.contextFull(limit: 5)) { try s.evaluate([1]) }
    }

    // MARK: Size and speed

    /// About 500 tokens of SmolLM2: the size is the rows plus 48 + 4n bytes; prints the timings.
    @Test(.enabled(if: TestEnvironment.hasModel), arguments: KVCacheType.allCases)
    func sizeAndSpeedAt500Tokens(type: KVCacheType) throws {
        let model = try LlamaModel(path: TestEnvironment.modelPath)
        let c = model.configuration
        let base = try Self.smolPrompt(model)
        let prompt = Array((0..<20).flatMap { _ in base }.prefix(500))
        #expect(prompt.count == 500)
        let a = InferenceSession(model: model, contextSize: 1024, threads: 2, cacheType: type)
        let clock = ContinuousClock()
        let prefill = try clock.measure { try a.evaluate(prompt) }
        var data = Data()
        let save = clock.measure { data = a.snapshot() }
        let b = InferenceSession(model: model, contextSize: 1024, threads: 2, cacheType: type)
        let load = try clock.measure { try b.restore(from: data) }
        let rows = 500 * c.layerCount * c.kvHeadCount * Self.storedBytes(type, values: c.headSize + c.valueSize)
        #expect(data.count == 48 + 32 + 4 * 500 + rows)
        #expect(bitwiseEqual(try logits(a, [504]), try logits(b, [504])))
        let fingerprint = clock.measure { _ = model.fingerprint }
        print("snapshot \(type), 500 tokens: \(data.count) bytes; save \(save), restore \(load), fingerprint \(fingerprint); prefill \(prefill)")
    }
}
