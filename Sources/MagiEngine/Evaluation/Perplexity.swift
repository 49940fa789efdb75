import Foundation

/// KL divergence of a model's distributions from a base file's, summed as llama-perplexity sums them.
public struct KLDivergenceStatistics: Sendable, Codable, Equatable {
    public var positions = 0
    public var sumKLD = 0.0
    public var sumKLD2 = 0.0
    public var sameTop = 0
    public var sumNLLBase = 0.0
    public var values: [Float] = []

    public var meanKLD: Double { positions > 0 ? sumKLD / Double(positions) : 0 }
    public var maximumKLD: Double { Double(values.max() ?? 0) }
    public var sameTopRate: Double { positions > 0 ? Double(sameTop) / Double(positions) : 0 }
    public var basePerplexity: Double { exp(sumNLLBase / Double(max(positions, 1))) }

    /// The `fraction` percentile of per-position KLD, interpolated as llama-perplexity does.
    public func percentile(_ fraction: Double) -> Double {
        let v = values.sorted()
        guard let first = v.first else { return 0 }
        if fraction <= 0 { return Double(first) }
        if fraction >= 1 { return Double(v.last!) }
        let p = fraction * Double(v.count - 1)
        let i = Int(p), f = p - Double(i)
        return (1 - f) * Double(v[i]) + f * Double(v[min(i + 1, v.count - 1)])
    }
}

/// The outcome of a perplexity run.
public struct PerplexityResult: Sendable, Codable, Equatable {
    public var contextSize: Int
    public var chunks: Int
    public var positions: Int
    public var sumNLL: Double
    public var sumNLL2: Double
    /// Running estimate after each chunk.
    public var perChunk: [Double]
    public var divergence: KLDivergenceStatistics?

    public var perplexity: Double { exp(sumNLL / Double(max(positions, 1))) }
    /// Standard error of the estimate, llama-perplexity's formula.
    public var uncertainty: Double {
        let n = Double(positions)
        guard positions > 1 else { return 0 }
        let mean = sumNLL / n
        let variance = sumNLL2 / n - mean * mean
        return variance > 0 ? perplexity * (variance / (n - 1)).squareRoot() : 0
    }
}

/// Why a perplexity run could not start.
public enum PerplexityError: Error, Equatable, CustomStringConvertible {
    case textTooShort(tokens: Int, needed: Int)
    case contextTooSmall(Int)

    public var description: String {
        switch self {
        case let .textTooShort(tokens, needed):
            return "the text has \(tokens) tokens; perplexity needs at least \(needed) (two windows of the context size)"
        case let .contextTooSmall(n): return "context size \(n) is too small for perplexity (at least 8)"
        }
    }
}

/// Perplexity over non-overlapping windows, computed the way llama-perplexity computes it: each
/// window is evaluated from an empty cache and only its second half is scored.
public struct PerplexityEvaluator {
    public let session: InferenceSession
    /// BOS that replaces the first token of each window, when the vocabulary adds BOS.
    public let bos: Int32?

    public init(session: InferenceSession, bos: Int32?) {
        self.session = session
        self.bos = bos
    }

    /// Scores `tokens` in windows of `contextSize`; optionally writes a base file, or compares
    /// with one (`base`, whose windows then replace `tokens`). `progress` sees each chunk's result.
    public func run(tokens: [Int32], contextSize n: Int, maxChunks: Int? = nil,
                    writeBase: String? = nil, base: LogitsFileReader? = nil,
                    progress: (Int, PerplexityResult) -> Void = { _, _ in }) throws -> PerplexityResult {
        guard n >= 8 else { throw PerplexityError.contextTooSmall(n) }
        let v = session.vocabularySize
        var source = tokens
        var chunks = tokens.count / n
        if let base {
            guard base.vocabularySize == v else { throw LogitsFileError.vocabularyMismatch(file: base.vocabularySize, model: v) }
            source = base.tokens
            chunks = base.chunkCount
        } else if chunks < 1 {
            throw PerplexityError.textTooShort(tokens: tokens.count, needed: n)
        }
        if let maxChunks { chunks = min(chunks, max(1, maxChunks)) }
        let first = n / 2, scored = LogitsFile.scoredPositions(contextSize: n)
        let recordLength = LogitsFile.recordLength(vocabularySize: v)
        let writer = try writeBase.map {
            try LogitsFileWriter(path: $0, contextSize: n, vocabularySize: v, chunkCount: chunks, tokens: source[0..<chunks * n])
        }
        var result = PerplexityResult(contextSize: n, chunks: chunks, positions: 0, sumNLL: 0, sumNLL2: 0, perChunk: [],
                                      divergence: base == nil ? nil : KLDivergenceStatistics())
        var records = [UInt16](repeating: 0, count: writer == nil ? 0 : scored * recordLength)
        for chunk in 0..<chunks {
            var window = Array(source[chunk * n..<(chunk + 1) * n])
            if let bos { window[0] = bos }
            session.reset()
            let logits = try session.evaluateAll(window)
            logits.withUnsafeBufferPointer { all in
                for j in 0..<scored {
                    let row = UnsafeBufferPointer(rebasing: all[(first + j) * v..<(first + j + 1) * v])
                    let target = Int(window[first + j + 1])
                    let nll: Double
                    if writer != nil {
                        nll = records.withUnsafeMutableBufferPointer { r in
                            LogitsFile.encode(logits: row, token: target,
                                              into: UnsafeMutableBufferPointer(rebasing: r[j * recordLength..<(j + 1) * recordLength]))
                        }
                    } else {
                        nll = Self.negativeLogLikelihood(row, target)
                    }
                    result.sumNLL += nll
                    result.sumNLL2 += nll * nll
                    result.positions += 1
                }
            }
            if let base {
                base.withRecords(chunk: chunk) { recs in
                    logits.withUnsafeBufferPointer { all in
                        for j in 0..<scored {
                            let row = UnsafeBufferPointer(rebasing: all[(first + j) * v..<(first + j + 1) * v])
                            let rec = UnsafeBufferPointer(rebasing: recs[j * recordLength..<(j + 1) * recordLength])
                            Self.compare(row, base: rec, target: Int(window[first + j + 1]), into: &result.divergence!)
                        }
                    }
                }
            }
            if let writer { try writer.append(records: records) }
            result.perChunk.append(result.perplexity)
            progress(chunk, result)
        }
        try writer?.close()
        session.reset()
        return result
    }

    static func negativeLogLikelihood(_ logits: UnsafeBufferPointer<Float>, _ token: Int) -> Double {
        var m = -Float.infinity
        for l in logits where l > m { m = l }
        var sum = 0.0
        for l in logits { sum += exp(Double(l - m)) }
        return Double(m) + log(sum) - Double(logits[token])
    }

    /// Adds one position's KL divergence from a base record (llama-perplexity's formula).
    static func compare(_ logits: UnsafeBufferPointer<Float>, base record: UnsafeBufferPointer<UInt16>, target: Int,
                        into s: inout KLDivergenceStatistics) {
        var maxLogit = -Float.infinity, top = 0
        for (i, l) in logits.enumerated() where l > maxLogit { maxLogit = l; top = i }
        var sumExp = 0.0
        for l in logits { sumExp += exp(Double(l - maxLogit)) }
        let logNorm = Double(maxLogit) + log(sumExp)
        let (scale, minLogProb) = record.withMemoryRebound(to: Float.self) { (Double($0[0]), Double($0[1])) }
        let codes = UnsafeBufferPointer(rebasing: record[4..<(4 + logits.count)])
        var kld = 0.0, baseTop = 0, baseMax = -Double.infinity
        for i in 0..<logits.count {
            let logBase = scale * Double(codes[i]) + minLogProb
            if logBase > baseMax { baseMax = logBase; baseTop = i }
            if logBase > -16 { kld += exp(logBase) * (logBase - (Double(logits[i]) - logNorm)) }
        }
        s.positions += 1
        s.sumKLD += kld
        s.sumKLD2 += kld * kld
        s.values.append(Float(kld))
        s.sumNLLBase += -(scale * Double(codes[target]) + minLogProb)
        if top == baseTop { s.sameTop += 1 }
    }
}
