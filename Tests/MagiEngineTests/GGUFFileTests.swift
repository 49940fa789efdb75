import Foundation
import MagiEngine
import Testing

/// Writes GGUF files byte by byte, so tests can make both valid and hostile ones.
struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func header(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
        bytes += Array("GGUF".utf8)
        u32(version)
        u64(tensors)
        u64(keys)
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    func write() throws -> String {
        let path = NSTemporaryDirectory() + "magi-gguf-\(UUID().uuidString).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite struct GGUFFileTests {
    /// One key of every GGUF value type, nested arrays included, and two tensors.
    func everyTypeFile() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.header(tensors: 2, keys: 15)
        b.string("u8"); b.u32(0); b.u8(200)
        b.string("i8"); b.u32(1); b.u8(0xFE)
        b.string("u16"); b.u32(2); b.u8(0x34); b.u8(0x12)
        b.string("i16"); b.u32(3); b.u8(0xFF); b.u8(0xFF)
        b.string("u32"); b.u32(4); b.u32(4_000_000_000)
        b.string("i32"); b.u32(5); b.u32(UInt32(bitPattern: -7))
        b.string("f32"); b.u32(6); b.u32(Float(1.5).bitPattern)
        b.string("bool"); b.u32(7); b.u8(1)
        b.string("str"); b.u32(8); b.string("héllo ✓")
        b.string("u64"); b.u32(10); b.u64(1 << 40)
        b.string("i64"); b.u32(11); b.u64(UInt64(bitPattern: -3))
        b.string("f64"); b.u32(12); b.u64(Double(-2.25).bitPattern)
        b.string("arr"); b.u32(9); b.u32(8); b.u64(2); b.string("a"); b.string("b")
        b.string("nested"); b.u32(9); b.u32(9); b.u64(2)
        b.u32(4); b.u64(1); b.u32(1)
        b.u32(4); b.u64(2); b.u32(2); b.u32(3)
        b.string("general.alignment"); b.u32(4); b.u32(64)
        // tensor "a": F32 [4, 2] at 0; tensor "q": Q8_0 [32] at 64
        b.string("a"); b.u32(2); b.u64(4); b.u64(2); b.u32(0); b.u64(0)
        b.string("q"); b.u32(1); b.u64(32); b.u32(8); b.u64(64)
        b.pad(to: 64)
        for i in 0..<8 { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { b.bytes += $0 } }
        b.pad(to: 64)
        b.bytes += [UInt8](repeating: 1, count: 34)
        return b
    }

    @Test func readsEveryValueTypeAndTheTensorTable() throws {
        let path = try everyTypeFile().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        #expect(f.version == 3)
        #expect(f.metadata["u8"] == .uint8(200))
        #expect(f.metadata["i8"] == .int8(-2))
        #expect(f.metadata["u16"] == .uint16(0x1234))
        #expect(f.metadata["i16"] == .int16(-1))
        #expect(f.metadata["u32"] == .uint32(4_000_000_000))
        #expect(f.metadata["i32"] == .int32(-7))
        #expect(f.metadata["f32"] == .float32(1.5))
        #expect(f.metadata["bool"] == .bool(true))
        #expect(f.metadata["str"] == .string("héllo ✓"))
        #expect(f.metadata["u64"] == .uint64(1 << 40))
        #expect(f.metadata["i64"] == .int64(-3))
        #expect(f.metadata["f64"] == .float64(-2.25))
        #expect(f.metadata["arr"] == .array([.string("a"), .string("b")]))
        #expect(f.metadata["nested"] == .array([.array([.uint32(1)]), .array([.uint32(2), .uint32(3)])]))
        #expect(f.alignment == 64)
        #expect(f.metadataKeys.first == "u8")
        let a = try #require(f.tensor("a"))
        #expect(a.shape == [4, 2] && a.type == .f32 && a.byteCount == 32)
        let values = (0..<8).map { f.data(of: a).loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        #expect(values == (0..<8).map(Float.init))
        let q = try #require(f.tensor("q"))
        #expect(q.type == .q8_0 && q.byteCount == 34 && q.fileOffset % 64 == 0)
    }

    /// Expects `bytes` to be rejected with a GGUFError (never a crash, hang or huge allocation).
    func expectRejected(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> GGUFError? {
        var b = GGUFBuilder()
        b.bytes = bytes
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GGUFFile(path: path)
            Issue.record("file was accepted", sourceLocation: sourceLocation)
            return nil
        } catch let e as GGUFError {
            #expect(!e.description.isEmpty && !e.description.contains("\n"), sourceLocation: sourceLocation)
            return e
        }
    }

    @Test func rejectsHostileHeaders() throws {
        var b = GGUFBuilder()
        b.bytes = Array("GGML".utf8) + [3, 0, 0, 0]
        #expect(try expectRejected(b.bytes) == .notGGUF(magic: "GGML"))

        b = GGUFBuilder(); b.header(version: 1, tensors: 0, keys: 0)
        #expect(try expectRejected(b.bytes) == .unsupportedVersion(1))

        b = GGUFBuilder(); b.header(tensors: 0, keys: UInt64.max)
        #expect(try expectRejected(b.bytes) == .implausibleCount(what: "metadata count", count: UInt64.max))

        b = GGUFBuilder(); b.header(tensors: 1 << 60, keys: 0)
        #expect(try expectRejected(b.bytes) == .implausibleCount(what: "tensor count", count: 1 << 60))

        b = GGUFBuilder(); b.header(tensors: 0, keys: 1); b.u64(1 << 62); b.bytes += [UInt8](repeating: 0, count: 16)
        #expect(try expectRejected(b.bytes) == .truncated(what: "string of \(1 << 62) bytes", offset: 24))

        b = GGUFBuilder(); b.header(tensors: 0, keys: 1); b.string("k"); b.u32(9); b.u32(4); b.u64(1 << 61)
        #expect(try expectRejected(b.bytes) == .implausibleCount(what: "length of array k", count: 1 << 61))

        b = GGUFBuilder(); b.header(tensors: 0, keys: 1); b.string("k"); b.u32(77); b.u32(0)
        #expect(try expectRejected(b.bytes) == .unknownValueType(key: "k", type: 77))

        b = GGUFBuilder(); b.header(tensors: 0, keys: 1); b.string("k"); b.u32(9)
        for _ in 0..<6 { b.u32(9); b.u64(1) }
        b.bytes += [UInt8](repeating: 0, count: 64)
        #expect(try expectRejected(b.bytes) == .arrayTooDeep(key: "k", limit: 4))

        b = GGUFBuilder(); b.header(tensors: 0, keys: 2); b.string("k"); b.u32(4); b.u32(1); b.string("k"); b.u32(4); b.u32(2)
        #expect(try expectRejected(b.bytes) == .duplicateKey("k"))

        b = GGUFBuilder(); b.header(tensors: 0, keys: 1); b.u64(2); b.bytes += [0xC3, 0x28]; b.u32(4); b.u32(1)
        #expect(try expectRejected(b.bytes) == .invalidString(offset: 24))

        b = GGUFBuilder(); b.header(tensors: 0, keys: 1); b.string("general.alignment"); b.u32(4); b.u32(48)
        #expect(try expectRejected(b.bytes) == .badAlignment(48))
    }

    @Test func rejectsHostileTensorTables() throws {
        func table(_ body: (inout GGUFBuilder) -> Void) -> [UInt8] {
            var b = GGUFBuilder()
            b.header(tensors: 1, keys: 0)
            body(&b)
            b.bytes += [UInt8](repeating: 0, count: 64)
            return b.bytes
        }
        #expect(try expectRejected(table { $0.string("t"); $0.u32(5); for _ in 0..<5 { $0.u64(1) }; $0.u32(0); $0.u64(0) })
                == .badTensorShape(name: "t", reason: "has 5 dimensions (1 to 4 allowed)"))
        #expect(try expectRejected(table { $0.string("t"); $0.u32(2); $0.u64(1 << 30); $0.u64(1 << 30); $0.u32(0); $0.u64(0) })
                == .badTensorShape(name: "t", reason: "has too many elements"))
        #expect(try expectRejected(table { $0.string("t"); $0.u32(1); $0.u64(0); $0.u32(0); $0.u64(0) })
                == .badTensorShape(name: "t", reason: "has dimension 0"))
        #expect(try expectRejected(table { $0.string("t"); $0.u32(1); $0.u64(32); $0.u32(99); $0.u64(0) })
                == .unknownTensorType(name: "t", type: 99))
        #expect(try expectRejected(table { $0.string("t"); $0.u32(1); $0.u64(33); $0.u32(8); $0.u64(0) })
                == .badTensorShape(name: "t", reason: "has rows of 33 values, not a multiple of Q8_0's block of 32"))
        #expect(try expectRejected(table { $0.string("t"); $0.u32(1); $0.u64(4); $0.u32(0); $0.u64(3) })
                == .badTensorShape(name: "t", reason: "has offset 3, not aligned to 32"))
        #expect(try expectRejected(table { $0.string("t"); $0.u32(1); $0.u64(1024); $0.u32(0); $0.u64(0) })
                == .tensorOutOfBounds(name: "t"))
        #expect(try expectRejected(table { $0.string("t"); $0.u32(1); $0.u64(4); $0.u32(0); $0.u64(UInt64.max - 31) })
                == .tensorOutOfBounds(name: "t"))
    }

    @Test func rejectsEveryTruncationOfAValidFile() throws {
        let full = everyTypeFile().bytes
        for length in stride(from: 0, to: full.count, by: 3) {
            _ = try expectRejected(Array(full.prefix(length)))
        }
    }

    /// Random byte flips in a valid file: each mutant is either read or rejected with a GGUFError.
    @Test func survivesRandomMutations() throws {
        let original = everyTypeFile().bytes
        var random = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            var bytes = original
            for _ in 0..<1 + Int(random.next() % 4) {
                let i = Int(random.next() % UInt64(bytes.count))
                bytes[i] = UInt8(truncatingIfNeeded: random.next())
            }
            var b = GGUFBuilder()
            b.bytes = bytes
            let path = try b.write()
            defer { try? FileManager.default.removeItem(atPath: path) }
            do { _ = try GGUFFile(path: path) } catch is GGUFError {}
        }
    }

    @Test func reportsMissingAndNonFiles() throws {
        #expect(throws: GGUFError.cannotOpen(path: "/nonexistent/x.gguf", reason: "No such file or directory")) {
            try GGUFFile(path: "/nonexistent/x.gguf")
        }
        #expect(throws: GGUFError.cannotOpen(path: "/tmp", reason: "not a regular file")) { try GGUFFile(path: "/tmp") }
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func readsTheDefaultModel() throws {
        let f = try GGUFFile(path: TestEnvironment.modelPath)
        #expect(try f.string("general.architecture") == "llama")
        #expect(f.tensors.count == 272)
        #expect(try f.int("llama.block_count") == 30)
        #expect(try f.stringArray("tokenizer.ggml.tokens")?.count == 49152)
        #expect(f.tensor("token_embd.weight")?.type == .q8_0)
        #expect(f.tensor("blk.0.attn_q.weight")?.type == .q4_1)
        let config = try LlamaConfiguration(file: f)
        #expect(config.headSize == 64 && config.kvHeadCount == 3 && config.ropeBase == 100_000)
    }

    /// Copies of the real model cut short anywhere in the header or the data are rejected.
    @Test(.enabled(if: TestEnvironment.hasModel)) func rejectsTruncatedCopiesOfTheModel() throws {
        let original = try GGUFFile(path: TestEnvironment.modelPath)
        let size = original.mapping.count
        let headerEnd = original.tensors.map(\.fileOffset).min()!
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: TestEnvironment.modelPath))
        let header = try source.read(upToCount: headerEnd)!
        var random = SeededRandom(seed: 11)
        var cuts = [0, 3, 4, 8, 16, 24, headerEnd - 1, headerEnd, size - 1]
        for _ in 0..<40 { cuts.append(Int(random.next() % UInt64(size))) }
        for cut in cuts {
            let path = NSTemporaryDirectory() + "magi-cut-\(cut).gguf"
            defer { try? FileManager.default.removeItem(atPath: path) }
            // The header bytes, then a sparse tail: the reader checks sizes, not tensor contents.
            try header.prefix(cut).write(to: URL(fileURLWithPath: path))
            if cut > headerEnd { truncate(path, off_t(cut)) }
            #expect(throws: GGUFError.self, "cut at \(cut)") { try GGUFFile(path: path) }
        }
    }
}
