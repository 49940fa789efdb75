import Foundation
import MagiKernels

// A session's state as bytes: the evaluated token ids and the KV cache rows for them, so a saved
// conversation resumes without prefilling its tokens again.
//
// Format, version 1, every integer little-endian:
//
//     offset  size  field
//          0     6  magic "MAGIKV"
//          6     2  format version (1)
//          8     8  model fingerprint (`LanguageModel.fingerprint`)
//         16     4  layers
//         20     4  key/value heads
//         24     4  key head size
//         28     4  value head size
//         32     1  cache element type: 0 half precision (IEEE binary16), 1 single precision
//         33     7  zero
//         40     8  token count n
//         48    4n  token ids, Int32
//              then for each layer, for each key/value head: the n key rows (n × key size
//              elements), then the n value rows (n × value size elements).
//
// The shape fields repeat what the fingerprint covers, so a reader can walk a file without the
// model. Rows of one head over positions 0..<n are contiguous in the cache, so saving and
// restoring are one copy per layer, head and kind.

/// Why `InferenceSession.restore(from:)` refused a snapshot. The session is unchanged whenever
/// one of these is thrown.
public enum SessionSnapshotError: Error, Equatable, CustomStringConvertible {
    /// The bytes do not start with the snapshot magic.
    case notASnapshot
    /// A snapshot format this build does not read.
    case unsupportedVersion(UInt16)
    /// The snapshot was made with a model whose fingerprint or cache shape differs.
    case anotherModel
    /// The snapshot holds more tokens than the session's window.
    case tooManyTokens(count: Int, contextSize: Int)
    /// The bytes end before the snapshot does; `needed` is the size known from what was read.
    case truncated(size: Int, needed: Int)
    /// The header or the token ids are inconsistent (unknown cache type, non-zero reserved
    /// bytes, a token outside the vocabulary, bytes after the end).
    case malformed(String)

    public var description: String {
        switch self {
        case .notASnapshot:
            return "the data is not a magi session snapshot"
        case let .unsupportedVersion(v):
            return "session snapshot format version \(v) is not supported (this magi reads version \(SessionSnapshot.version))"
        case .anotherModel:
            return "the session snapshot was made with another model"
        case let .tooManyTokens(count, contextSize):
            return "the session snapshot holds \(count) tokens, more than the context window of \(contextSize)"
        case let .truncated(size, needed):
            return "the session snapshot is truncated: \(size) bytes, at least \(needed) needed"
        case let .malformed(reason):
            return "the session snapshot is malformed: \(reason)"
        }
    }
}

/// Constants of the snapshot format.
enum SessionSnapshot {
    static let magic: [UInt8] = Array("MAGIKV".utf8)
    static let version: UInt16 = 1
    static let headerBytes = 48

    static func typeCode(_ type: KVCacheType) -> UInt8 {
        switch type {
        case .f16: 0
        case .f32: 1
        case .q8_0: 2
        }
    }
    static func type(code: UInt8) -> KVCacheType? { [KVCacheType.f16, .f32, .q8_0].first { typeCode($0) == code } }
}

extension LlamaModel {
    /// A 64-bit hash that tells models apart for session snapshots: the hyperparameters, every
    /// tensor's name, type, shape and size, and the first bytes of every tensor's data (so
    /// fine-tunes of one base differ). Cheap: it reads a few hundred bytes per tensor.
    public var fingerprint: UInt64 {
        var h = FNV1a()
        let c = configuration
        h.add(c.architecture)
        for v in [c.layerCount, c.embeddingSize, c.feedForwardSize, c.headCount, c.kvHeadCount, c.headSize,
                  c.valueSize, c.ropeDimensions, c.contextLength, c.vocabularySize] { h.add(UInt64(v)) }
        h.add(c.ropeBase.bitPattern)
        h.add(c.ropeFrequencyScale.bitPattern)
        h.add(UInt64(c.rmsEpsilon.bitPattern))
        h.add(UInt64(file.tensors.count))
        for t in file.tensors {
            h.add(t.name)
            h.add(UInt64(t.type.rawValue))
            h.add(UInt64(t.shape.count))
            for d in t.shape { h.add(UInt64(d)) }
            h.add(UInt64(t.byteCount))
            h.add(UnsafeRawBufferPointer(start: file.data(of: t), count: min(t.byteCount, 256)))
        }
        return h.value
    }
}

/// FNV-1a, 64 bits: stable across runs and platforms, unlike `Hasher`.
private struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
    mutating func add(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { add($0) } }
    mutating func add(_ s: String) {
        add(UInt64(s.utf8.count))
        var s = s
        s.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }
}

extension InferenceSession {
    /// The evaluated tokens and their keys and values as bytes, for `restore(from:)` in a session
    /// of the same model (any context size that holds them, either cache type).
    ///
    /// The size is about `tokens.count` × the cache's bytes per token, plus 48 bytes and 4 per token. The snapshot holds no logits: evaluate at least one more
    /// token after restoring before sampling.
    public func snapshot() -> Data {
        let n = tokens.count, c = cache
        let keyBytes = n * c.keyRowBytes, valueBytes = n * c.valueRowBytes
        let total = SessionSnapshot.headerBytes + 4 * n + c.layers * c.kvHeads * (keyBytes + valueBytes)
        let out = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 64)
        var at = 0
        func put<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { (out + at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            at += MemoryLayout<T>.size
        }
        SessionSnapshot.magic.forEach { put($0) }
        put(SessionSnapshot.version)
        put(model.fingerprint)
        for v in [c.layers, c.kvHeads, c.keySize, c.valueSize] { put(UInt32(v)) }
        put(SessionSnapshot.typeCode(c.type))
        for _ in 0..<7 { put(UInt8(0)) }
        put(UInt64(n))
        for t in tokens { put(t) }
        for layer in 0..<c.layers {
            for head in 0..<c.kvHeads {
                (out + at).copyMemory(from: c.keys(layer: layer, head: head), byteCount: keyBytes)
                Self.toLittleEndian(out + at, byteCount: keyBytes, of: c.type)
                at += keyBytes
                (out + at).copyMemory(from: c.values(layer: layer, head: head), byteCount: valueBytes)
                Self.toLittleEndian(out + at, byteCount: valueBytes, of: c.type)
                at += valueBytes
            }
        }
        assert(at == total)
        return Data(bytesNoCopy: out, count: total, deallocator: .custom { p, _ in p.deallocate() })
    }

    /// Replaces this session's state with a snapshot's: afterwards `tokens` equals the saved ids and
    /// `evaluate` continues as if they had been evaluated here. A snapshot of another cache type
    /// is converted (to a wider type exactly; to a narrower one rounding as storing would).
    ///
    /// Everything is checked before anything is copied, so on a thrown `SessionSnapshotError` the
    /// session is as it was.
    public func restore(from data: Data) throws {
        try data.withUnsafeBytes { try restore(from: $0) }
    }

    private func restore(from bytes: UnsafeRawBufferPointer) throws {
        let size = bytes.count, c = cache
        func u<T: FixedWidthInteger>(_: T.Type, _ offset: Int) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        // Magic, then version, then the header: a short prefix of a snapshot reads as truncated.
        let magic = SessionSnapshot.magic
        guard bytes.prefix(magic.count).elementsEqual(magic.prefix(min(size, magic.count))) else {
            throw SessionSnapshotError.notASnapshot
        }
        guard size >= magic.count + 2 else { throw SessionSnapshotError.truncated(size: size, needed: SessionSnapshot.headerBytes) }
        let version = u(UInt16.self, 6)
        guard version == SessionSnapshot.version else { throw SessionSnapshotError.unsupportedVersion(version) }
        guard size >= SessionSnapshot.headerBytes else { throw SessionSnapshotError.truncated(size: size, needed: SessionSnapshot.headerBytes) }

        let shape = stride(from: 16, to: 32, by: 4).map { Int(u(UInt32.self, $0)) }
        guard u(UInt64.self, 8) == model.fingerprint, shape == [c.layers, c.kvHeads, c.keySize, c.valueSize] else {
            throw SessionSnapshotError.anotherModel
        }
        guard let type = SessionSnapshot.type(code: u(UInt8.self, 32)) else {
            throw SessionSnapshotError.malformed("unknown cache type \(u(UInt8.self, 32))")
        }
        guard (33..<40).allSatisfy({ bytes[$0] == 0 }) else { throw SessionSnapshotError.malformed("reserved header bytes are not zero") }
        let declared = u(UInt64.self, 40)
        guard declared <= UInt64(contextSize) else {
            throw SessionSnapshotError.tooManyTokens(count: declared > UInt64(Int.max) ? Int.max : Int(declared), contextSize: contextSize)
        }
        let n = Int(declared)
        let keyBytes = n * type.rowBytes(c.keySize), valueBytes = n * type.rowBytes(c.valueSize)
        let rowsStart = SessionSnapshot.headerBytes + 4 * n
        let total = rowsStart + c.layers * c.kvHeads * (keyBytes + valueBytes)
        guard size >= total else { throw SessionSnapshotError.truncated(size: size, needed: total) }
        guard size == total else { throw SessionSnapshotError.malformed("\(size - total) bytes after the end") }
        let ids = (0..<n).map { Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: SessionSnapshot.headerBytes + 4 * $0, as: Int32.self)) }
        let v = vocabularySize
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= v }) {
            throw SessionSnapshotError.malformed("token id \(bad) is outside the vocabulary of \(v) tokens")
        }

        // Valid: copy.
        let source = bytes.baseAddress!
        // Another type is converted through an aligned copy and floats.
        let copy = type == c.type ? nil : UnsafeMutableRawPointer.allocate(byteCount: max(keyBytes, valueBytes, 1), alignment: 64)
        let floats = type == c.type ? nil : UnsafeMutablePointer<Float>.allocate(capacity: max(n * max(c.keySize, c.valueSize), 1))
        defer {
            copy?.deallocate()
            floats?.deallocate()
        }
        var at = rowsStart
        for layer in 0..<c.layers {
            for head in 0..<c.kvHeads {
                c.load(source + at, rows: n, width: c.keySize, of: type, into: c.keys(layer: layer, head: head), copy: copy, floats: floats)
                at += keyBytes
                c.load(source + at, rows: n, width: c.valueSize, of: type, into: c.values(layer: layer, head: head), copy: copy, floats: floats)
                at += valueBytes
            }
        }
        tokens = ids
        c.count = n
    }

    /// Byte-swaps the multi-byte numbers of rows of `type` in place on a big-endian host (an 8-bit
    /// block's scale, not its values); nothing on a little-endian one.
    @inline(__always)
    static func toLittleEndian(_ p: UnsafeMutableRawPointer, byteCount: Int, of type: KVCacheType) {
        #if _endian(big)
        switch type {
        case .f16:
            let q = p.assumingMemoryBound(to: UInt16.self)
            for i in 0..<byteCount / 2 { q[i] = q[i].byteSwapped }
        case .f32:
            let q = p.assumingMemoryBound(to: UInt32.self)
            for i in 0..<byteCount / 4 { q[i] = q[i].byteSwapped }
        case .q8_0:
            let block = type.rowBytes(32)
            for b in stride(from: 0, to: byteCount, by: block) {
                let scale = (p + b).assumingMemoryBound(to: UInt16.self)
                scale.pointee = scale.pointee.byteSwapped
            }
        }
        #endif
    }
}

extension KVCache {
    /// Writes `rows` little-endian rows of `width` values of `type` from `source` (any alignment) to
    /// `row` onward; another type than this cache's is converted through an aligned `copy` and `floats`.
    func load(_ source: UnsafeRawPointer, rows: Int, width: Int, of type: KVCacheType, into row: UnsafeMutableRawPointer,
              copy: UnsafeMutableRawPointer?, floats: UnsafeMutablePointer<Float>?) {
        let bytes = rows * type.rowBytes(width)
        guard type != self.type, let copy, let floats else {
            row.copyMemory(from: source, byteCount: bytes)
            InferenceSession.toLittleEndian(row, byteCount: bytes, of: type)
            return
        }
        // The kernels read aligned elements, so convert from an aligned copy.
        copy.copyMemory(from: source, byteCount: bytes)
        InferenceSession.toLittleEndian(copy, byteCount: bytes, of: type)
        let values = floatRows(copy, rows: rows, width: width, of: type, scratch: floats)
        write(values, count: rows * width, to: row)
    }
}
