import Foundation
import MagiKernels

// Writing session snapshots (format in SessionSnapshot.swift): whole, in memory or as a new file,
// or by appending one chunk to the file the session last read or wrote.

/// Why `InferenceSession.save(toFile:)` failed; the file is left as it was before the save (a
/// snapshot that loads), apart from, at worst, an unflushed tail that readers ignore.
public enum SessionSnapshotSaveError: Error, Equatable, CustomStringConvertible {
    /// A system call failed; `code` is the `errno`.
    case io(operation: String, code: Int32)

    public var description: String {
        switch self {
        case let .io(operation, code): "cannot \(operation) the session snapshot: \(String(cString: strerror(code)))"
        }
    }
}

/// What `InferenceSession.save(toFile:)` did.
public enum SessionSnapshotSave: Equatable, Sendable {
    /// The file already held exactly the session's tokens.
    case unchanged
    /// One chunk of `positions` new positions, `bytes` long, was appended.
    case appended(positions: Int, bytes: Int)
    /// The session's tokens did not extend the file's (or the file was another): a new file of
    /// `bytes` replaced it.
    case rewritten(bytes: Int)
}

/// The snapshot file a session last read or wrote, as it was then: a save to the same path
/// appends when the file is still that one (same device, inode and modification time, at least
/// `byteCount` long: a torn tail after them is cut off first) and the session's tokens extend its
/// tokens.
struct SavedSnapshotFile {
    var path: String
    var identity: FileIdentity
    var byteCount: Int
    var tokens: [Int32]
}

/// What tells one version of a file from another: device, inode and modification time.
struct FileIdentity: Equatable {
    var device, inode: UInt64
    var modified: timespec

    init(_ s: stat) {
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
        modified = s.st_mtim
    }

    static func == (a: Self, b: Self) -> Bool {
        a.device == b.device && a.inode == b.inode && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
    }
}

/// Bytes on their way to a file descriptor through a buffer, or into one block of memory.
private final class SnapshotOutput {
    private let fd: Int32?
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var used = 0
    /// Bytes handed to the file so far.
    private(set) var written = 0

    /// Output to `fd` through a buffer of `capacity` bytes.
    init(fd: Int32, capacity: Int = 4 << 20) {
        self.fd = fd
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    /// Output into memory of exactly `byteCount` bytes, taken over by `data()`.
    init(byteCount: Int) {
        fd = nil
        capacity = max(byteCount, 1)
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { if fd != nil { buffer.deallocate() } }

    func append(_ p: UnsafeRawPointer, _ count: Int) throws(SessionSnapshotSaveError) {
        guard let fd else {
            precondition(used + count <= capacity, "snapshot larger than computed")
            (buffer + used).copyMemory(from: p, byteCount: count)
            used += count
            return
        }
        if used + count > capacity { try flush() }
        if count >= capacity { return try write(fd, p, count) }
        (buffer + used).copyMemory(from: p, byteCount: count)
        used += count
    }

    func append(_ bytes: [UInt8]) throws(SessionSnapshotSaveError) {
        try bytes.withUnsafeBytes { b in Result { () throws(SessionSnapshotSaveError) in try append(b.baseAddress!, b.count) } }.get()
    }

    func append<T: FixedWidthInteger>(_ v: T) throws(SessionSnapshotSaveError) {
        try withUnsafeBytes(of: v.littleEndian) { (b) throws(SessionSnapshotSaveError) in try append(b.baseAddress!, b.count) }
    }

    /// Writes the buffered bytes to the file.
    func flush() throws(SessionSnapshotSaveError) {
        guard let fd, used > 0 else { return }
        try write(fd, buffer, used)
        used = 0
    }

    private func write(_ fd: Int32, _ p: UnsafeRawPointer, _ count: Int) throws(SessionSnapshotSaveError) {
        var offset = 0
        while offset < count {
            let n = Glibc.write(fd, p + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", code: errno)
            }
            offset += n
        }
        written += count
    }

    /// The memory output as `Data` (once).
    func data() -> Data {
        precondition(fd == nil, "file output has no data")
        return Data(bytesNoCopy: buffer, count: used, deallocator: .custom { p, _ in p.deallocate() })
    }
}

/// A test hook: with `MAGI_TEST_SNAPSHOT_PAUSE=SECONDS` in the environment, every snapshot save
/// stops halfway through its chunk's rows (the first half flushed to the file), says so on
/// standard error, and sleeps, so a test can kill the process in the middle of a save.
private let pauseMidSave: UInt32? = ProcessInfo.processInfo.environment["MAGI_TEST_SNAPSHOT_PAUSE"].flatMap { UInt32($0) }

extension InferenceSession {
    /// The evaluated tokens and their keys and values as a snapshot of one chunk, for
    /// `restore(from:)` in a session of the same model (any context size that holds them, any
    /// cache type). About `tokens.count` × the cache's bytes per token, plus 80 bytes and 4 per
    /// token. The snapshot holds no logits: evaluate at least one more token after restoring
    /// before sampling.
    public func snapshot() -> Data {
        let n = tokens.count
        let out = SnapshotOutput(byteCount: SessionSnapshot.headerBytes + (n > 0 ? SessionSnapshot.chunkHeaderBytes + n * bytesPerPosition : 0))
        do {
            try writeHeader(to: out)
            if n > 0 { try writeChunk(start: 0, count: n, to: out) }
        } catch {
            preconditionFailure("memory output does not fail")
        }
        return out.data()
    }

    /// Saves the session to the snapshot file at `path`. When the file is the one this session last
    /// read or wrote there and the session's tokens extend the file's, only the new positions are
    /// appended as one chunk and flushed to the disk; otherwise a new file is written beside it,
    /// flushed, and renamed over it. Either way a process killed at any moment leaves a file that
    /// loads: the old snapshot or the new one.
    @discardableResult
    public func save(toFile path: String) throws(SessionSnapshotSaveError) -> SessionSnapshotSave {
        if let saved = savedFile, saved.path == path, saved.tokens.count <= tokens.count, tokens.starts(with: saved.tokens) {
            var status = stat()
            if stat(path, &status) == 0, FileIdentity(status) == saved.identity, Int(status.st_size) >= saved.byteCount {
                if saved.tokens.count == tokens.count { return .unchanged }
                return try append(to: saved)
            }
        }
        return try rewrite(path)
    }

    /// Bytes of one position in a chunk: its id and every layer's and head's key and value rows.
    private var bytesPerPosition: Int { 4 + cache.layers * cache.kvHeads * (cache.keyRowBytes + cache.valueRowBytes) }

    private func append(to saved: SavedSnapshotFile) throws(SessionSnapshotSaveError) -> SessionSnapshotSave {
        let fd = open(saved.path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", code: errno) }
        defer { close(fd) }
        let start = saved.tokens.count, n = tokens.count - start
        let out = SnapshotOutput(fd: fd)
        do throws(SessionSnapshotSaveError) {
            guard ftruncate(fd, off_t(saved.byteCount)) == 0 else { throw SessionSnapshotSaveError.io(operation: "truncate", code: errno) }
            guard lseek(fd, off_t(saved.byteCount), SEEK_SET) >= 0 else { throw SessionSnapshotSaveError.io(operation: "seek in", code: errno) }
            try writeChunk(start: start, count: n, to: out)
            try out.flush()
            guard fsync(fd) == 0 else { throw SessionSnapshotSaveError.io(operation: "flush", code: errno) }
        } catch {
            savedFile = nil // the modification time changes either way
            // Drop the partial chunk; should that fail, readers ignore the torn tail and the next
            // save cuts it off.
            if ftruncate(fd, off_t(saved.byteCount)) == 0 { fsync(fd) }
            throw error
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            savedFile = nil
            return .appended(positions: n, bytes: out.written)
        }
        savedFile = SavedSnapshotFile(path: saved.path, identity: FileIdentity(status), byteCount: saved.byteCount + out.written, tokens: tokens)
        return .appended(positions: n, bytes: out.written)
    }

    private func rewrite(_ path: String) throws(SessionSnapshotSaveError) -> SessionSnapshotSave {
        savedFile = nil
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        var template = Array((folder + "/." + (path as NSString).lastPathComponent + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .io(operation: "create a temporary file for", code: errno) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let out = SnapshotOutput(fd: fd)
        var status = stat()
        do throws(SessionSnapshotSaveError) {
            try writeHeader(to: out)
            if !tokens.isEmpty { try writeChunk(start: 0, count: tokens.count, to: out) }
            try out.flush()
            guard fsync(fd) == 0 else { throw SessionSnapshotSaveError.io(operation: "flush", code: errno) }
            guard fstat(fd, &status) == 0 else { throw SessionSnapshotSaveError.io(operation: "read the size of", code: errno) }
            guard close(fd) == 0 else {
                let code = errno
                unlink(temporary)
                throw SessionSnapshotSaveError.io(operation: "close", code: code)
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(operation: "replace", code: code)
        }
        let directoryFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
        savedFile = SavedSnapshotFile(path: path, identity: FileIdentity(status), byteCount: out.written, tokens: tokens)
        return .rewritten(bytes: out.written)
    }

    private func writeHeader(to out: SnapshotOutput) throws(SessionSnapshotSaveError) {
        let c = cache
        try out.append(SessionSnapshot.magic)
        try out.append(SessionSnapshot.version)
        try out.append(model.fingerprint)
        for v in [c.layers, c.kvHeads, c.keySize, c.valueSize] { try out.append(UInt32(v)) }
        try out.append(SessionSnapshot.typeCode(c.type))
        try out.append([UInt8](repeating: 0, count: SessionSnapshot.headerBytes - 33))
    }

    /// Writes the chunk of positions [start, start + n): header, ids, each head's key and value rows.
    private func writeChunk(start: Int, count n: Int, to out: SnapshotOutput) throws(SessionSnapshotSaveError) {
        let c = cache
        let ids = tokens[start..<start + n].map(\.littleEndian)
        var pieces: [(UnsafeRawPointer, Int)] = []
        pieces.reserveCapacity(2 * c.layers * c.kvHeads)
        for layer in 0..<c.layers {
            for head in 0..<c.kvHeads {
                pieces.append((UnsafeRawPointer(c.keys(layer: layer, head: head) + start * c.keyRowBytes), n * c.keyRowBytes))
                pieces.append((UnsafeRawPointer(c.values(layer: layer, head: head) + start * c.valueRowBytes), n * c.valueRowBytes))
            }
        }
        var hashes = [ids.withUnsafeBytes { magi_xxh64($0.baseAddress, $0.count, 0) }]
        for (p, count) in pieces { hashes.append(Self.withLittleEndian(p, count, of: c.type) { magi_xxh64($0, count, 0) }) }

        try out.append(SessionSnapshot.chunkMagic)
        try out.append(UInt32(0))
        try out.append(UInt64(start))
        try out.append(UInt64(n))
        try out.append(SessionSnapshot.checksum(start: start, count: n, pieces: hashes))
        try ids.withUnsafeBytes { b in Result { () throws(SessionSnapshotSaveError) in try out.append(b.baseAddress!, b.count) } }.get()
        for (index, (p, count)) in pieces.enumerated() {
            if index == pieces.count / 2, let seconds = pauseMidSave {
                try out.flush()
                let note = "magi: test pause in a snapshot save\n"
                _ = note.withCString { Glibc.write(2, $0, strlen($0)) }
                sleep(seconds)
            }
            try Self.withLittleEndian(p, count, of: c.type) { (q) throws(SessionSnapshotSaveError) in try out.append(q, count) }
        }
    }

    /// Calls `body` with `count` bytes of rows of `type` at `p` in little-endian order: `p` itself
    /// on a little-endian host, a swapped copy on a big-endian one.
    private static func withLittleEndian<R, E: Error>(_ p: UnsafeRawPointer, _ count: Int, of type: KVCacheType,
                                                       _ body: (UnsafeRawPointer) throws(E) -> R) throws(E) -> R {
        #if _endian(big)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        defer { copy.deallocate() }
        copy.copyMemory(from: p, byteCount: count)
        toLittleEndian(copy, byteCount: count, of: type)
        return try body(copy)
        #else
        return try body(p)
        #endif
    }
}
