import Foundation
import MagiKernels

/// One benchmark measurement: tokens per second over repeated runs.
public struct BenchmarkResult: Sendable, Codable, Equatable {
    /// "pp512" or "tg128", as llama-bench names tests.
    public var test: String
    public var tokens: Int
    public var threads: Int
    public var samples: [Double]

    public var mean: Double { samples.reduce(0, +) / Double(max(samples.count, 1)) }
    public var standardDeviation: Double {
        guard samples.count > 1 else { return 0 }
        let m = mean
        return (samples.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(samples.count - 1)).squareRoot()
    }
}

/// How fast this machine reads memory: what decode, which reads every weight once per token, is
/// bound by. Measured in the same run as a benchmark, since a shared machine's bandwidth moves.
public enum ReadBandwidth {
    /// Bytes per second `threads` threads read together: the best of `passes` passes over a buffer of
    /// `bytes` (far larger than any cache), each thread reading its own share.
    public static func measure(threads: Int, bytes: Int = 1 << 30, passes: Int = 3) -> Double {
        let pool = ThreadPool(threadCount: threads)
        let share = bytes / pool.threadCount / 64 * 64
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: share * pool.threadCount, alignment: 64)
        defer { buffer.deallocate() }
        // Each thread touches its own share first, so the pages are mapped near it.
        pool.run { memset(buffer + $0 * share, 1, share) }
        var best = 0.0
        var sums = [UInt64](repeating: 0, count: pool.threadCount)
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            sums.withUnsafeMutableBufferPointer { out in
                pool.run { out[$0] = magi_read_sum(buffer + $0 * share, Int64(share)) }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, Double(share * pool.threadCount) / seconds)
        }
        return best
    }
}

/// The int8 multiply-add peak of this machine, with the instructions magi's quantized kernels use
/// (the bound prefill's integer matrix products approach).
public enum Int8Peak {
    /// Operations per second (a multiply-add counts two, as TOPS figures do) that `threads` threads
    /// reach together on registers: the best of `passes` passes of at least 0.1 s each; nil where
    /// magi has no int8 kernels (NEON, scalar).
    public static func measure(threads: Int, passes: Int = 3) -> Double? {
        var checksum: Int32 = 0
        guard magi_int8_peak_run(1, 1, &checksum) > 0 else { return nil }
        let pool = ThreadPool(threadCount: threads)
        var multiplyAdds = [Int64](repeating: 0, count: pool.threadCount)
        var sums = [Int32](repeating: 0, count: pool.threadCount)
        var iterations: Int64 = 1 << 16
        var best = 0.0, timed = 0
        while timed < passes {
            let start = DispatchTime.now().uptimeNanoseconds
            multiplyAdds.withUnsafeMutableBufferPointer { counts in
                sums.withUnsafeMutableBufferPointer { out in
                    pool.run { counts[$0] = magi_int8_peak_run(iterations, Int8(truncatingIfNeeded: $0), out.baseAddress! + $0) }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            // Short passes only find the length of one that is long enough to time.
            if seconds < 0.1 && iterations < 1 << 40 {
                iterations *= 2
                continue
            }
            best = max(best, 2 * Double(multiplyAdds.reduce(0, +)) / seconds)
            timed += 1
        }
        return best
    }
}

/// Prefill and decode speed measured like llama-bench: prompt processing of `p` tokens as one
/// batch from an empty cache, and generation of `n` tokens one at a time, after a warm-up run.
public struct Benchmark {
    public let session: InferenceSession

    public init(session: InferenceSession) { self.session = session }

    /// Prompt processing: `tokens` tokens as one batch after `depth` tokens already in the cache.
    public func prefill(tokens count: Int, repetitions: Int, depth: Int = 0) throws -> BenchmarkResult {
        let context = syntheticTokens(depth), input = syntheticTokens(count, seed: 43)
        return try measure(name("pp\(count)", depth), tokens: count, repetitions: repetitions, prepare: { try fill(context) }) {
            try session.evaluate(input)
        }
    }

    /// Text generation: `tokens` single-token steps after `depth` tokens already in the cache.
    public func decode(tokens count: Int, repetitions: Int, depth: Int = 0) throws -> BenchmarkResult {
        let context = syntheticTokens(depth), input = syntheticTokens(count, seed: 43)
        return try measure(name("tg\(count)", depth), tokens: count, repetitions: repetitions, prepare: { try fill(context) }) {
            for t in input { try session.evaluate([t]) }
        }
    }

    /// llama-bench's test names: "tg128", or "tg128 @ d4096" with a filled context.
    private func name(_ test: String, _ depth: Int) -> String { depth > 0 ? "\(test) @ d\(depth)" : test }

    /// Empties the cache and evaluates `context` (untimed), reusing it when it is already there.
    private func fill(_ context: [Int32]) throws {
        if session.tokens.count >= context.count, Array(session.tokens.prefix(context.count)) == context {
            session.rewind(to: context.count)
            return
        }
        session.reset()
        if !context.isEmpty { try session.evaluate(context) }
    }

    /// Text generation through the sampler, greedy, each step choosing from the logits: with a
    /// `constraint` stage first (its cost is the difference to the same run without), or none.
    /// `prompt` is evaluated once, outside the timing; when the constraint's grammar completes (an
    /// end-of-generation token is chosen), it starts over, so every run generates `count` tokens.
    public func sampledDecode(tokens count: Int, prompt: [Int32], constraint: GrammarConstraint?, repetitions: Int) throws -> BenchmarkResult {
        let ends = Set(constraint?.trie.endOfGenerationTokens ?? [])
        session.reset()
        let afterPrompt = Array(try session.evaluate(prompt))
        return try measure("tg\(count)" + (constraint == nil ? " sampled" : " constrained"), tokens: count, repetitions: repetitions) {
            session.rewind(to: prompt.count)
            var sampler = Sampler(.greedy)
            if let constraint { sampler.prepend(constraint) }
            var token = afterPrompt.withUnsafeBufferPointer { sampler.sample($0) }
            for step in 0..<count {
                if ends.contains(token) { sampler.reset() }
                let logits = try session.evaluate([token])
                if step + 1 < count { token = sampler.sample(UnsafeBufferPointer(logits)) }
            }
        }
    }

    private func measure(_ name: String, tokens: Int, repetitions: Int, prepare: () throws -> Void = {},
                         _ body: () throws -> Void) throws -> BenchmarkResult {
        try prepare()
        try body() // warm-up: page in the weights, settle the threads
        var samples: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<max(1, repetitions) {
            try prepare()
            let t0 = clock.now
            try body()
            samples.append(Double(tokens) / (clock.now - t0).seconds)
        }
        return BenchmarkResult(test: name, tokens: tokens, threads: session.threadCount, samples: samples)
    }

    /// Deterministic pseudo-random tokens spread over the vocabulary.
    private func syntheticTokens(_ count: Int, seed: UInt64 = 42) -> [Int32] {
        var random = SeededRandom(seed: seed)
        let v = UInt64(session.vocabularySize)
        return (0..<count).map { _ in Int32(random.next() % v) }
    }
}
