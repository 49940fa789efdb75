import Foundation
@testable import MagiEngine
import MagiKernels
import Testing

/// Snapshot files that grow turn by turn: a save appends one chunk with the new positions, a
/// diverged session rewrites the file, and a reader keeps the longest run of whole, checksummed
/// chunks, so a save cut short anywhere leaves the previous snapshot loadable.
@Suite(.serialized) struct SessionSnapshotFileTests {
    /// Bytes of one position of the tiny model in half precision: its id, then 2 layers × 2 heads
    /// × (8 + 8) halves.
    static let perPosition = 4 + 2 * 2 * 16 * 2

    /// A fresh directory, removed by the caller.
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "magi-snapshot-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func session(_ model: LlamaModel, _ type: KVCacheType = .f16) -> InferenceSession {
        InferenceSession(model: model, contextSize: 32, threads: 1, cacheType: type)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func logits(_ s: InferenceSession, _ next: [Int32]) throws -> [UInt32] { try s.evaluate(next).map(\.bitPattern) }

    /// A file of two chunks (5 positions, then 3) and the byte offset where the second begins.
    func twoChunkFile(_ model: LlamaModel, in dir: String) throws -> (path: String, firstEnd: Int) {
        let path = dir + "/two.kv"
        let s = session(model)
        try s.evaluate(SessionSnapshotTests.tinyPrompt)
        #expect(try s.save(toFile: path) == .rewritten(bytes: 48 + 32 + 5 * Self.perPosition))
        try s.evaluate([9, 10, 11])
        #expect(try s.save(toFile: path) == .appended(positions: 3, bytes: 32 + 3 * Self.perPosition))
        return (path, 48 + 32 + 5 * Self.perPosition)
    }

    /// XXH64 against values from the reference implementation (python-xxhash 3.x, `xxh64(data, seed)`).
    @Test func checksumIsXXH64() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        let expected: [(Int, UInt64)] = [(0, 0xef46_db37_51d8_e999), (1, 0x1f25_c8d0_bc1f_4bb6), (3, 0x31d2_363f_52e5_64c9),
                                         (4, 0x9bb6_4b7d_66ee_9fda), (7, 0x9a7b_1499_59ce_60d8), (8, 0xdab9_9d95_c6f9_0092),
                                         (31, 0xa2aa_5f33_cc4a_6119), (32, 0x23c3_c17e_f790_fd97), (33, 0x50a7_cfc7_ba58_8784),
                                         (100, 0xa61f_8d4c_170f_e531), (1000, 0x5f23_5fa0_33f1_a3fb)]
        for (n, hash) in expected {
            #expect(data.withUnsafeBytes { magi_xxh64($0.baseAddress, n, 0) } == hash, "length \(n)")
        }
        #expect(data.withUnsafeBytes { magi_xxh64($0.baseAddress, 100, 12345) } == 0xacb8_a028_91fe_a7d2)
    }

    /// The second save appends exactly one chunk and leaves the first bytes as they were; the file
    /// restores, through the mapping, a session that continues bit for bit like the original.
    @Test(arguments: [KVCacheType.f16, .f32]) func appendWritesOnlyTheNewPositions(type: KVCacheType) throws {
        let model = try SessionSnapshotTests.tinyModel(seed: 1)
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.kv"
        let a = session(model, type)
        try a.evaluate(SessionSnapshotTests.tinyPrompt)
        guard case let .rewritten(first) = try a.save(toFile: path) else { Issue.record("first save must write a file"); return }
        let before = try bytes(path)
        #expect(before.count == first && before == a.snapshot())
        #expect(try a.save(toFile: path) == .unchanged)
        try a.evaluate([9, 10, 11])
        guard case let .appended(positions, added) = try a.save(toFile: path) else { Issue.record("second save must append"); return }
        let after = try bytes(path)
        let rowBytes = type == .f16 ? 2 : 4
        #expect(positions == 3 && added == 32 + 3 * (4 + 2 * 2 * 16 * rowBytes))
        #expect(after.count == before.count + added && after.prefix(before.count) == before)

        let b = session(model, type)
        #expect(try b.restore(fromFile: path) == SessionRestore(tokens: 8, ignoredBytes: 0))
        #expect(b.tokens == a.tokens)
        #expect(try logits(a, [3, 4]) == logits(b, [3, 4]))
        // The restored session appends to the file it read; a third session sees all of it.
        #expect(try b.save(toFile: path) == .appended(positions: 2, bytes: 32 + 2 * (4 + 2 * 2 * 16 * rowBytes)))
        let c = session(model, type)
        try c.restore(fromFile: path)
        #expect(c.tokens == a.tokens)
        #expect(try logits(a, [5]) == logits(c, [5]))
    }

    /// The file cut at every offset inside the second chunk loads the first chunk; cut inside the
    /// first, nothing; with garbage after it, all of it. The ignored bytes are counted.
    @Test func tornTailLoadsTheValidPrefix() throws {
        let model = try SessionSnapshotTests.tinyModel(seed: 1)
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, firstEnd) = try twoChunkFile(model, in: dir)
        let whole = try bytes(path)
        let reference = session(model)
        try reference.evaluate(SessionSnapshotTests.tinyPrompt)
        let s = session(model)
        for cut in 48..<whole.count {
            let expected = cut < firstEnd ? SessionRestore(tokens: 0, ignoredBytes: cut - 48)
                                          : SessionRestore(tokens: 5, ignoredBytes: cut - firstEnd)
            #expect(try s.restore(from: whole.prefix(cut)) == expected, "cut at \(cut)")
        }
        // Through the file, once: the restored prefix computes what the original did.
        try whole.prefix(firstEnd + 40).write(to: URL(fileURLWithPath: path))
        #expect(try s.restore(fromFile: path) == SessionRestore(tokens: 5, ignoredBytes: 40))
        #expect(try logits(s, [7]) == logits(reference, [7]))
        for garbage in [Data([0]), Data("KVCH".utf8), Data(repeating: 0xAB, count: 5000)] {
            #expect(try s.restore(from: whole + garbage) == SessionRestore(tokens: 8, ignoredBytes: garbage.count))
        }
    }

    /// A file whose tail was torn (a save killed mid-write) is cut back to its valid chunks by the
    /// next save of the session that read it, which then appends.
    @Test func saveAfterATornTailAppendsAfterTheValidPrefix() throws {
        let model = try SessionSnapshotTests.tinyModel(seed: 1)
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, firstEnd) = try twoChunkFile(model, in: dir)
        try (try bytes(path)).prefix(firstEnd + 77).write(to: URL(fileURLWithPath: path))
        let s = session(model)
        #expect(try s.restore(fromFile: path) == SessionRestore(tokens: 5, ignoredBytes: 77))
        try s.evaluate([12])
        #expect(try s.save(toFile: path) == .appended(positions: 1, bytes: 32 + Self.perPosition))
        #expect(try bytes(path).count == firstEnd + 32 + Self.perPosition)
        let t = session(model)
        #expect(try t.restore(fromFile: path) == SessionRestore(tokens: 6, ignoredBytes: 0))
        #expect(t.tokens == SessionSnapshotTests.tinyPrompt + [12])
    }

    /// Any one flipped bit in a chunk (header, ids or rows) drops that chunk and every later one.
    @Test func flippedByteDropsItsChunkAndTheRest() throws {
        let model = try SessionSnapshotTests.tinyModel(seed: 1)
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, firstEnd) = try twoChunkFile(model, in: dir)
        let whole = try bytes(path)
        let s = session(model)
        for offset in 48..<whole.count {
            for bit in [0, 5] {
                var damaged = whole
                damaged[offset] ^= UInt8(1 << bit)
                let loaded = try s.restore(from: damaged)
                #expect(loaded.tokens == (offset < firstEnd ? 0 : 5), "byte \(offset) bit \(bit)")
                #expect(loaded.ignoredBytes == whole.count - (offset < firstEnd ? 48 : firstEnd))
            }
        }
    }

    /// When the session's tokens no longer extend the file's (an edit, /clear, a context shift),
    /// or the file was replaced behind the session's back, the save writes a new file.
    @Test func divergenceRewritesTheFile() throws {
        let model = try SessionSnapshotTests.tinyModel(seed: 1)
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, _) = try twoChunkFile(model, in: dir)
        let s = session(model)
        try s.restore(fromFile: path)
        s.rewind(to: 3)
        try s.evaluate([20, 21])
        #expect(try s.save(toFile: path) == .rewritten(bytes: 48 + 32 + 5 * Self.perPosition))
        let t = session(model)
        try t.restore(fromFile: path)
        #expect(t.tokens == Array(SessionSnapshotTests.tinyPrompt.prefix(3)) + [20, 21])
        // Shorter than the file: rewritten too.
        s.rewind(to: 2)
        #expect(try s.save(toFile: path) == .rewritten(bytes: 48 + 32 + 2 * Self.perPosition))
        // Replaced by another writer (a rename, as savers do): rewritten rather than appended to.
        try t.snapshot().write(to: URL(fileURLWithPath: path), options: .atomic)
        try s.evaluate([22])
        #expect(try s.save(toFile: path) == .rewritten(bytes: 48 + 32 + 3 * Self.perPosition))
        // An emptied session writes a header alone, which restores an empty session.
        s.reset()
        #expect(try s.save(toFile: path) == .rewritten(bytes: 48))
        #expect(try t.restore(fromFile: path) == SessionRestore(tokens: 0, ignoredBytes: 0) && t.tokens.isEmpty)
    }

    /// Files of another model, of the format before, or missing are refused with the session as it was.
    @Test func refusesForeignAndMissingFiles() throws {
        let model = try SessionSnapshotTests.tinyModel(seed: 1)
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, _) = try twoChunkFile(model, in: dir)
        let other = session(try SessionSnapshotTests.tinyModel(seed: 2))
        try other.evaluate([4, 5])
        #expect(throws: SessionSnapshotError.anotherModel) { try other.restore(fromFile: path) }
        #expect(other.tokens == [4, 5])
        var old = try bytes(path)
        old[6] = 1
        try old.write(to: URL(fileURLWithPath: path))
        #expect(throws: SessionSnapshotError.unsupportedVersion(1)) { try other.restore(fromFile: path) }
        #expect(throws: SessionSnapshotError.unreadable(operation: "open", code: ENOENT)) { try other.restore(fromFile: dir + "/none.kv") }
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(throws: SessionSnapshotError.truncated(size: 0, needed: 48)) { try other.restore(fromFile: path) }
        #expect(other.tokens == [4, 5])
        // A save that cannot write (no such directory) reports the step and changes nothing.
        #expect(throws: SessionSnapshotSaveError.io(operation: "create a temporary file for", code: ENOENT)) {
            try other.save(toFile: dir + "/missing/x.kv")
        }
    }

    /// More valid tokens than the window: refused before anything is copied.
    @Test func refusesMoreTokensThanTheWindowFromAFile() throws {
        let model = try SessionSnapshotTests.tinyModel(seed: 1)
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, _) = try twoChunkFile(model, in: dir)
        let small = InferenceSession(model: model, contextSize: 6, threads: 1)
        #expect(throws: SessionSnapshotError.tooManyTokens(count: 8, contextSize: 6)) { try small.restore(fromFile: path) }
        #expect(small.tokens.isEmpty)
    }
}
