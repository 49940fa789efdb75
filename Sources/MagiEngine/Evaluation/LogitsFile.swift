import Foundation

/// llama.cpp's KL-divergence base file (`llama-perplexity --kl-divergence-base`):
/// `_logits_`, uint32 n_ctx, int32 n_vocab, int32 n_chunk, n_ctx·n_chunk int32 tokens, then for
/// each chunk and each of its n_ctx−1−n_ctx/2 scored positions, `2·((n_vocab+1)/2)+4` uint16:
/// two floats (scale, minimum log-probability) and one 16-bit code per token.
public enum LogitsFile {
    static let magic = Array("_logits_".utf8)

    /// Scored positions per window: the second half, less the last token (it has no successor).
    public static func scoredPositions(contextSize n: Int) -> Int { n - 1 - n / 2 }

    /// uint16 values per scored position.
    public static func recordLength(vocabularySize v: Int) -> Int { 2 * ((v + 1) / 2) + 4 }

    /// Encodes one position's logits as llama.cpp does and returns the negative log-likelihood of `token`.
    static func encode(logits: UnsafeBufferPointer<Float>, token: Int, into record: UnsafeMutableBufferPointer<UInt16>) -> Double {
        var maxLogit = logits[0], minLogit = logits[0]
        for l in logits { maxLogit = max(maxLogit, l); minLogit = min(minLogit, l) }
        minLogit = max(minLogit, maxLogit - 16)
        var sumExp = 0.0
        for l in logits { sumExp += Double(expf(l - maxLogit)) }
        let logSumExp = Float(log(sumExp))
        let minLogProb = minLogit - maxLogit - logSumExp
        let scale = (maxLogit - minLogit) / 65535
        record.withMemoryRebound(to: Float.self) { floats in
            floats[0] = scale
            floats[1] = minLogProb
        }
        if scale > 0 {
            let inv = 1 / scale
            for i in 0..<logits.count {
                record[4 + i] = logits[i] > minLogit ? UInt16(clamping: Int((inv * (logits[i] - minLogit)).rounded(.toNearestOrEven))) : 0
            }
        } else {
            for i in 0..<logits.count { record[4 + i] = 0 }
        }
        return Double(maxLogit) + Double(logSumExp) - Double(logits[token])
    }
}

/// Why a logits file could not be used.
public enum LogitsFileError: Error, Equatable, CustomStringConvertible {
    case notALogitsFile(path: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case vocabularyMismatch(file: Int, model: Int)
    case badHeader(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notALogitsFile(path): return "\(path) is not a KL-divergence base file (no _logits_ header)"
        case let .truncated(path, expected, actual):
            return "\(path) is truncated or padded: its header promises \(expected) bytes but it has \(actual)"
        case let .vocabularyMismatch(file, model):
            return "the KL-divergence base file was made with a vocabulary of \(file) tokens, but this model has \(model)"
        case let .badHeader(path, reason): return "\(path) has a bad header: \(reason)"
        }
    }
}

/// A KL-divergence base file read into memory and validated against its header.
public struct LogitsFileReader {
    public let contextSize: Int
    public let vocabularySize: Int
    public let chunkCount: Int
    /// The token windows, `chunkCount × contextSize`.
    public let tokens: [Int32]
    private let data: Data
    private let recordsStart: Int

    public init(path: String) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw LogitsFileError.badHeader(path: path, reason: "cannot be read")
        }
        guard data.count >= 20, Array(data.prefix(8)) == LogitsFile.magic else { throw LogitsFileError.notALogitsFile(path: path) }
        func u32(_ at: Int) -> UInt32 { data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) } }
        let nCtx = Int(u32(8)), nVocab = Int(Int32(bitPattern: u32(12))), nChunk = Int(Int32(bitPattern: u32(16)))
        guard nCtx >= 4, nCtx < 1 << 24 else { throw LogitsFileError.badHeader(path: path, reason: "context size \(nCtx)") }
        guard nVocab > 0, nVocab < 1 << 24 else { throw LogitsFileError.badHeader(path: path, reason: "vocabulary size \(nVocab)") }
        guard nChunk > 0, nChunk < 1 << 24 else { throw LogitsFileError.badHeader(path: path, reason: "chunk count \(nChunk)") }
        let tokenBytes = nCtx * nChunk * 4
        let recordBytes = LogitsFile.scoredPositions(contextSize: nCtx) * LogitsFile.recordLength(vocabularySize: nVocab) * 2
        let expected = 20 + tokenBytes + nChunk * recordBytes
        guard data.count == expected else { throw LogitsFileError.truncated(path: path, expectedBytes: expected, actualBytes: data.count) }
        contextSize = nCtx
        vocabularySize = nVocab
        chunkCount = nChunk
        tokens = data.withUnsafeBytes { raw in
            (0..<nCtx * nChunk).map { raw.loadUnaligned(fromByteOffset: 20 + $0 * 4, as: Int32.self) }
        }
        self.data = data
        recordsStart = 20 + tokenBytes
    }

    /// Calls `body` with the records of chunk `chunk`, one per scored position, each `recordLength` values.
    public func withRecords<R>(chunk: Int, _ body: (UnsafeBufferPointer<UInt16>) throws -> R) rethrows -> R {
        let count = LogitsFile.scoredPositions(contextSize: contextSize) * LogitsFile.recordLength(vocabularySize: vocabularySize)
        let offset = recordsStart + chunk * count * 2
        var copy = [UInt16](repeating: 0, count: count)
        copy.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + count * 2])) }
        }
        return try copy.withUnsafeBufferPointer(body)
    }
}

/// Writes a KL-divergence base file chunk by chunk.
public final class LogitsFileWriter {
    private let handle: FileHandle
    let contextSize: Int
    let vocabularySize: Int

    public init(path: String, contextSize: Int, vocabularySize: Int, chunkCount: Int, tokens: ArraySlice<Int32>) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw LogitsFileError.badHeader(path: path, reason: "cannot be created")
        }
        handle = h
        self.contextSize = contextSize
        self.vocabularySize = vocabularySize
        var header = Data(LogitsFile.magic)
        withUnsafeBytes(of: UInt32(contextSize).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: Int32(vocabularySize).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: Int32(chunkCount).littleEndian) { header.append(contentsOf: $0) }
        Array(tokens).withUnsafeBytes { header.append(contentsOf: $0) }
        try handle.write(contentsOf: header)
    }

    /// Appends one chunk's records.
    public func append(records: [UInt16]) throws {
        try records.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
    }

    public func close() throws { try handle.close() }
}
