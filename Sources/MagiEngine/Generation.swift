import Foundation
import Synchronization

/// Why generation stopped.
public enum StopReason: String, Sendable, Codable {
    /// The model produced an end-of-generation token.
    case endOfGeneration
    /// The token budget ran out.
    case maxTokens
    /// The context window is full.
    case contextFull
    /// The consumer stopped listening or cancelled.
    case cancelled
}

/// Timings and counts of one generation.
public struct GenerationSummary: Sendable, Codable, Equatable {
    public var reason: StopReason
    public var promptTokens: Int
    public var promptSeconds: Double
    public var generatedTokens: Int
    public var generationSeconds: Double
    /// True when generation stopped inside a structure a constraint (grammar, JSON Schema, tool call)
    /// had not closed: the output is cut short, not a complete match.
    public var endedInsideConstraint: Bool

    public init(reason: StopReason, promptTokens: Int, promptSeconds: Double, generatedTokens: Int, generationSeconds: Double,
                endedInsideConstraint: Bool = false) {
        self.reason = reason
        self.promptTokens = promptTokens
        self.promptSeconds = promptSeconds
        self.generatedTokens = generatedTokens
        self.generationSeconds = generationSeconds
        self.endedInsideConstraint = endedInsideConstraint
    }

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double { generationSeconds > 0 ? Double(generatedTokens) / generationSeconds : 0 }
}

/// What a generation stream yields: each sampled token, then one summary.
public enum GenerationEvent: Sendable, Equatable {
    case token(Int32)
    case finished(GenerationSummary)
}

/// Settings for one generation.
public struct GenerationRequest: Sendable {
    /// Tokens to evaluate first; tokens already in the session's cache are reused when they
    /// form a prefix of these.
    public var prompt: [Int32]
    public var sampling: SamplingParameters
    /// At most this many new tokens (nil: until the window is full).
    public var maxTokens: Int?
    /// Tokens that end generation (they are not yielded).
    public var stopTokens: Set<Int32>
    /// When set, a full window does not stop generation: the cache keeps this many tokens from the
    /// start (a system prompt, say), drops half of the rest and goes on (llama.cpp's context shift).
    public var contextShiftKeep: Int?

    public init(prompt: [Int32], sampling: SamplingParameters = SamplingParameters(), maxTokens: Int? = nil,
                stopTokens: Set<Int32> = [], contextShiftKeep: Int? = nil) {
        self.prompt = prompt
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stopTokens = stopTokens
        self.contextShiftKeep = contextShiftKeep
    }
}

extension InferenceSession {
    /// Generates tokens on a dedicated thread and streams them: every sampled token, then one
    /// ``GenerationEvent/finished(_:)`` once the loop has ended (so the session is free again).
    /// Generation stops before the next token when `stop` is set, or when the consumer drops the
    /// stream or its task is cancelled; the summary then says ``StopReason/cancelled``.
    ///
    /// `sampler` defaults to the chain built from `request.sampling`; pass one to add a constraint.
    public func generate(_ request: GenerationRequest, sampler: Sampler? = nil,
                         stop: StopFlag = StopFlag()) -> AsyncThrowingStream<GenerationEvent, Error> {
        // The consumer's leaving stops this generation only, never the caller's flag.
        let abandoned = StopFlag()
        // Unsafe but sound: the caller gives the sampler up (its grammar stage keeps caches that
        // are not thread-safe), and only the generation thread uses it.
        nonisolated(unsafe) let sampler = sampler ?? Sampler(request.sampling)
        return AsyncThrowingStream { continuation in
            continuation.onTermination = { _ in abandoned.stop() }
            let thread = Thread { [self] in
                do {
                    let summary = try self.runGeneration(request, sampler: sampler,
                                                         shouldStop: { abandoned.isStopped || stop.isStopped }) { token in
                        continuation.yield(.token(token))
                    }
                    continuation.yield(.finished(summary))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// The generation loop, synchronous: evaluates the prompt (reusing the cached prefix) batch by
    /// batch, then samples and evaluates one token at a time until a stop condition. `shouldStop`
    /// is polled before every prompt batch and every token.
    public func runGeneration(_ request: GenerationRequest, sampler initial: Sampler,
                              shouldStop: () -> Bool = { false }, emit: (Int32) -> Void) throws -> GenerationSummary {
        var sampler = initial
        let reused = commonPrefixLength(with: request.prompt)
        // Keep at least one prompt token to evaluate, so there are logits to sample from.
        let keep = min(reused, request.prompt.count - 1)
        rewind(to: keep)
        let clock = ContinuousClock()
        let t0 = clock.now
        var start = keep
        var logits: UnsafeMutableBufferPointer<Float>
        repeat {
            if shouldStop() {
                return GenerationSummary(reason: .cancelled, promptTokens: start - keep, promptSeconds: (clock.now - t0).seconds,
                                         generatedTokens: 0, generationSeconds: 0)
            }
            let end = min(request.prompt.count, start + batchSize)
            logits = try evaluate(Array(request.prompt[start..<end]))
            start = end
        } while start < request.prompt.count
        let promptSeconds = (clock.now - t0).seconds
        var summary = GenerationSummary(reason: .maxTokens, promptTokens: request.prompt.count - keep,
                                        promptSeconds: promptSeconds, generatedTokens: 0, generationSeconds: 0)
        let t1 = clock.now
        let limit = request.maxTokens ?? Int.max
        while true {
            if shouldStop() { summary.reason = .cancelled; break }
            if summary.generatedTokens >= limit { summary.reason = .maxTokens; break }
            // Tokens that may still be emitted: the budget's, and the window's (the last one emitted
            // is not evaluated) unless a full window shifts.
            let windowLeft = request.contextShiftKeep == nil ? contextSize - tokens.count + 1 : Int.max
            sampler.setTokenBudget(min(limit - summary.generatedTokens, windowLeft))
            let token = sampler.sample(UnsafeBufferPointer(logits))
            if request.stopTokens.contains(token) { summary.reason = .endOfGeneration; break }
            emit(token)
            summary.generatedTokens += 1
            if summary.generatedTokens >= limit { summary.reason = .maxTokens; break }
            if tokens.count >= contextSize {
                guard let kept = request.contextShiftKeep, kept + 2 < contextSize else { summary.reason = .contextFull; break }
                shiftContext(keeping: kept, discarding: (tokens.count - kept) / 2)
            }
            logits = try evaluate([token])
        }
        summary.generationSeconds = (clock.now - t1).seconds
        summary.endedInsideConstraint = summary.reason != .endOfGeneration && sampler.isInsideConstrainedStructure
        return summary
    }

    /// Length of the longest common prefix of the cached tokens and `other`.
    public func commonPrefixLength(with other: [Int32]) -> Int {
        var n = 0
        while n < tokens.count && n < other.count && tokens[n] == other[n] { n += 1 }
        return n
    }
}

/// Set once, from any thread, to stop a generation, a turn or the tools it runs; polled before
/// every prompt batch and every token. A flag made with a condition is also set while it holds
/// (the REPL's: a Ctrl-C since the turn began).
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    private let condition: (@Sendable () -> Bool)?

    /// A flag set only by ``stop()``, or also whenever `condition` returns true.
    public init(when condition: (@Sendable () -> Bool)? = nil) {
        self.condition = condition
    }

    /// Sets the flag; it stays set.
    public func stop() { flag.store(true, ordering: .releasing) }

    /// Whether the flag was set (or its condition holds).
    public var isStopped: Bool { flag.load(ordering: .acquiring) || condition?() == true }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
