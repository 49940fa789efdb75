import Foundation
import MagiKernels

// A session's state as bytes: the evaluated token ids and the KV cache rows for them, so a saved
// conversation resumes without prefilling its tokens again. The bytes are a file that grows by
// appending: a header, then chunks, each holding a run of positions.
//
// Format, version 2, every integer little-endian:
//
//     header (48 bytes)
//     offset  size  field
//          0     6  magic "MAGIKV"
//          6     2  format version (2)
//          8     8  model fingerprint (`LanguageModel.fingerprint`)
//         16     4  layers
//         20     4  key/value heads
//         24     4  key head size
//         28     4  value head size
//         32     1  cache element type: 0 half precision (IEEE binary16), 1 single precision, 2 q8_0
//         33    15  zero
//
//     chunk (32 bytes, then the body), for positions [start, start + n), n ≥ 1
//          0     4  magic "KVCH"
//          4     4  zero
//          8     8  start: the positions of the chunks before it
//         16     8  n
//         24     8  checksum (below)
//         32    4n  token ids, Int32
//              then for each layer, for each key/value head: the n key rows (n × key size
//              elements), then the n value rows (n × value size elements).
//
// The checksum is XXH64 (seed 0) of the little-endian UInt64s [start, n, h(ids), h(keys of layer
// 0 head 0), h(values of layer 0 head 0), ...], where h is XXH64 (seed 0) of that piece's bytes.
//
// A reader takes the chunks from the first on while each is whole, checksummed, contiguous and
// names tokens of the vocabulary, and ignores the rest (the torn tail of a save that was killed,
// or damage). A writer appends a chunk with the positions the file lacks and flushes it; when the
// session's tokens no longer extend the file's, it writes a new file and renames it over the old.
// The shape fields repeat what the fingerprint covers, so a reader can walk a file without the
// model. Rows of one head over a run of positions are contiguous in the cache, so saving and
// restoring are one copy per chunk, layer, head and kind.

/// Why `InferenceSession.restore(from:)` or `restore(fromFile:)` refused a snapshot. The session is
/// unchanged whenever one of these is thrown.
public enum SessionSnapshotError: Error, Equatable, CustomStringConvertible {
    /// The bytes do not start with the snapshot magic.
    case notASnapshot
    /// A snapshot format this build does not read.
    case unsupportedVersion(UInt16)
    /// The snapshot was made with a model whose fingerprint or cache shape differs.
    case anotherModel
    /// The snapshot holds more tokens than the session's window.
    case tooManyTokens(count: Int, contextSize: Int)
    /// The bytes end inside the header; `needed` is the header's size.
    case truncated(size: Int, needed: Int)
    /// The header is inconsistent (unknown cache type, non-zero reserved bytes).
    case malformed(String)
    /// The file could not be opened, sized or mapped; `code` is the `errno`.
    case unreadable(operation: String, code: Int32)

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
        case let .unreadable(operation, code):
            return "cannot \(operation) the session snapshot: \(String(cString: strerror(code)))"
        }
    }
}

/// What a restore loaded: the tokens of the whole, valid chunks, and the bytes after them that
/// were ignored (a torn or damaged tail; 0 for an intact snapshot).
public struct SessionRestore: Equatable, Sendable {
    public var tokens: Int
    public var ignoredBytes: Int
}

/// Constants of the snapshot format.
enum SessionSnapshot {
    static let magic: [UInt8] = Array("MAGIKV".utf8)
    static let chunkMagic: [UInt8] = Array("KVCH".utf8)
    static let version: UInt16 = 2
    static let headerBytes = 48
    static let chunkHeaderBytes = 32

    static func typeCode(_ type: KVCacheType) -> UInt8 {
        switch type {
        case .f16: 0
        case .f32: 1
        case .q8_0: 2
        }
    }
    static func type(code: UInt8) -> KVCacheType? { [KVCacheType.f16, .f32, .q8_0].first { typeCode($0) == code } }

    /// The chunk checksum from the hashes of its pieces (ids, then each head's keys and values).
    static func checksum(start: Int, count: Int, pieces: [UInt64]) -> UInt64 {
        let words = ([UInt64(start), UInt64(count)] + pieces).map(\.littleEndian)
        return words.withUnsafeBytes { magi_xxh64($0.baseAddress, $0.count, 0) }
    }
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

/// A snapshot's bytes read and checked: its cache type and the valid chunks, in order.
struct SnapshotContents {
    struct Chunk {
        /// Offset of the chunk's token ids.
        var body: Int
        var start: Int
        var count: Int
    }
    var type: KVCacheType
    var chunks: [Chunk] = []
    var tokens: [Int32] = []
    /// The end of the last valid chunk (the header's end when there is none).
    var validBytes: Int

    /// Reads the header and walks the chunks of `bytes` for `session`'s model.
    ///
    /// - Throws: ``SessionSnapshotError`` for a header that is not this model's; damaged chunks
    ///   end the walk instead.
    init(_ bytes: UnsafeRawBufferPointer, for session: InferenceSession) throws(SessionSnapshotError) {
        let size = bytes.count, c = session.cache
        func u<T: FixedWidthInteger>(_: T.Type, _ offset: Int) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        // Magic, then version, then the header: a short prefix of a snapshot reads as truncated.
        let magic = SessionSnapshot.magic
        guard bytes.prefix(magic.count).elementsEqual(magic.prefix(min(size, magic.count))) else {
            throw .notASnapshot
        }
        let headerBytes = SessionSnapshot.headerBytes
        guard size >= magic.count + 2 else { throw .truncated(size: size, needed: headerBytes) }
        let version = u(UInt16.self, 6)
        guard version == SessionSnapshot.version else { throw .unsupportedVersion(version) }
        guard size >= headerBytes else { throw .truncated(size: size, needed: headerBytes) }
        let shape = stride(from: 16, to: 32, by: 4).map { Int(u(UInt32.self, $0)) }
        guard u(UInt64.self, 8) == session.model.fingerprint, shape == [c.layers, c.kvHeads, c.keySize, c.valueSize] else {
            throw .anotherModel
        }
        guard let type = SessionSnapshot.type(code: u(UInt8.self, 32)) else {
            throw .malformed("unknown cache type \(u(UInt8.self, 32))")
        }
        guard (33..<headerBytes).allSatisfy({ bytes[$0] == 0 }) else { throw .malformed("reserved header bytes are not zero") }
        self.type = type
        validBytes = headerBytes

        let keyRow = type.rowBytes(c.keySize), valueRow = type.rowBytes(c.valueSize)
        let perPosition = 4 + c.layers * c.kvHeads * (keyRow + valueRow)
        let vocabulary = session.vocabularySize
        let base = bytes.baseAddress!
        var at = headerBytes
        while size - at >= SessionSnapshot.chunkHeaderBytes {
            guard bytes[at..<at + 4].elementsEqual(SessionSnapshot.chunkMagic), u(UInt32.self, at + 4) == 0,
                  u(UInt64.self, at + 8) == UInt64(tokens.count) else { break }
            let declared = u(UInt64.self, at + 16)
            let body = at + SessionSnapshot.chunkHeaderBytes
            guard declared > 0, declared <= UInt64((size - body) / perPosition) else { break }
            let n = Int(declared)
            // Checksum, then the ids.
            var pieces = [magi_xxh64(base + body, 4 * n, 0)]
            pieces.reserveCapacity(1 + 2 * c.layers * c.kvHeads)
            var row = body + 4 * n
            for _ in 0..<c.layers * c.kvHeads {
                pieces.append(magi_xxh64(base + row, n * keyRow, 0))
                row += n * keyRow
                pieces.append(magi_xxh64(base + row, n * valueRow, 0))
                row += n * valueRow
            }
            guard SessionSnapshot.checksum(start: tokens.count, count: n, pieces: pieces) == u(UInt64.self, at + 24) else { break }
            let ids = (0..<n).map { Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: body + 4 * $0, as: Int32.self)) }
            guard ids.allSatisfy({ $0 >= 0 && Int($0) < vocabulary }) else { break }
            chunks.append(Chunk(body: body, start: tokens.count, count: n))
            tokens += ids
            at = row
            validBytes = row
        }
    }
}

extension InferenceSession {
    /// Replaces this session's state with a snapshot's (see `snapshot()`): afterwards `tokens`
    /// equals the ids of the snapshot's valid chunks and `evaluate` continues as if they had been
    /// evaluated here. A snapshot of another cache type is converted (to a wider type exactly; to a
    /// narrower one rounding as storing would). A torn or damaged tail is ignored and counted in
    /// the result.
    ///
    /// Everything is checked before anything is copied, so on a thrown `SessionSnapshotError` the
    /// session is as it was.
    @discardableResult
    public func restore(from data: Data) throws(SessionSnapshotError) -> SessionRestore {
        let result = data.withUnsafeBytes { bytes in
            Result { () throws(SessionSnapshotError) in try restore(SnapshotContents(bytes, for: self), from: bytes) }
        }
        return try result.get()
    }

    /// Restores the snapshot file at `path` as `restore(from:)` does, reading it through a
    /// read-only memory mapping rather than into memory, and remembers the file so that
    /// `save(toFile:)` to the same path appends only positions the file lacks.
    @discardableResult
    public func restore(fromFile path: String) throws(SessionSnapshotError) -> SessionRestore {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(operation: "open", code: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .unreadable(operation: "read the size of", code: errno) }
        let size = Int(status.st_size)
        guard size > 0 else { return try restore(from: Data()) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw .unreadable(operation: "map", code: errno)
        }
        defer { munmap(mapping, size) }
        madvise(mapping, size, MADV_SEQUENTIAL)
        madvise(mapping, size, MADV_WILLNEED) // every byte is read: checksums, then the copy
        let bytes = UnsafeRawBufferPointer(start: mapping, count: size)
        let contents = try SnapshotContents(bytes, for: self)
        let result = try restore(contents, from: bytes)
        savedFile = SavedSnapshotFile(path: path, identity: FileIdentity(status), byteCount: contents.validBytes, tokens: contents.tokens)
        return result
    }

    private func restore(_ contents: SnapshotContents, from bytes: UnsafeRawBufferPointer) throws(SessionSnapshotError) -> SessionRestore {
        let n = contents.tokens.count, c = cache, type = contents.type
        guard n <= contextSize else { throw .tooManyTokens(count: n, contextSize: contextSize) }
        // Valid: copy. Another type is converted through an aligned copy and floats.
        let longest = contents.chunks.map(\.count).max() ?? 0
        let keyRow = type.rowBytes(c.keySize), valueRow = type.rowBytes(c.valueSize)
        let copy = type == c.type ? nil : UnsafeMutableRawPointer.allocate(byteCount: max(longest * max(keyRow, valueRow), 1), alignment: 64)
        let floats = type == c.type ? nil : UnsafeMutablePointer<Float>.allocate(capacity: max(longest * max(c.keySize, c.valueSize), 1))
        defer {
            copy?.deallocate()
            floats?.deallocate()
        }
        let source = bytes.baseAddress!
        for chunk in contents.chunks {
            var at = chunk.body + 4 * chunk.count
            for layer in 0..<c.layers {
                for head in 0..<c.kvHeads {
                    c.load(source + at, rows: chunk.count, width: c.keySize, of: type,
                           into: c.keys(layer: layer, head: head) + chunk.start * c.keyRowBytes, copy: copy, floats: floats)
                    at += chunk.count * keyRow
                    c.load(source + at, rows: chunk.count, width: c.valueSize, of: type,
                           into: c.values(layer: layer, head: head) + chunk.start * c.valueRowBytes, copy: copy, floats: floats)
                    at += chunk.count * valueRow
                }
            }
        }
        tokens = contents.tokens
        c.count = n
        return SessionRestore(tokens: n, ignoredBytes: bytes.count - contents.validBytes)
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
