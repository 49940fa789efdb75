import Foundation

/// One step of a sampler chain. Stages see candidates in chain order; `accept` tells each stage
/// which token was finally chosen, so stateful stages (penalties, constraints) can follow the text.
public protocol SamplerStage {
    mutating func apply(to candidates: inout TokenCandidates)
    mutating func accept(_ token: Int32)
    mutating func reset()
    /// The most candidates this stage keeps, the best ones, whatever the logits (1 for a greedy choice,
    /// k for top-k); nil when that depends on the logits. A constraint before it may then stop looking
    /// once it has found that many allowed tokens.
    var keepsAtMost: Int? { get }
    /// Told before each choice how many tokens the output may still have, this one included (nil: no
    /// limit), so a constraint can close its structure in time.
    mutating func setTokenBudget(_ remaining: Int?)
}

extension SamplerStage {
    public mutating func accept(_ token: Int32) {}
    public mutating func reset() {}
    public var keepsAtMost: Int? { nil }
    public mutating func setTokenBudget(_ remaining: Int?) {}
}

/// Repetition, frequency and presence penalties over the last `window` accepted tokens,
/// as llama.cpp applies them (a positive logit is divided by `repeat`, a negative one multiplied).
public struct PenaltyStage: SamplerStage {
    public var window: Int
    public var repeatPenalty: Float
    public var frequencyPenalty: Float
    public var presencePenalty: Float
    private var recent: [Int32] = []

    public init(window: Int = 64, repeatPenalty: Float = 1, frequencyPenalty: Float = 0, presencePenalty: Float = 0) {
        self.window = window
        self.repeatPenalty = repeatPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
    }

    var isNeutral: Bool { repeatPenalty == 1 && frequencyPenalty == 0 && presencePenalty == 0 }

    public mutating func apply(to c: inout TokenCandidates) {
        guard !isNeutral, !recent.isEmpty else { return }
        var counts: [Int32: Int] = [:]
        for t in recent { counts[t, default: 0] += 1 }
        for i in 0..<c.count {
            guard let n = counts[c.ids[i]] else { continue }
            var l = c.logits[i]
            l = l <= 0 ? l * repeatPenalty : l / repeatPenalty
            l -= Float(n) * frequencyPenalty + presencePenalty
            c.logits[i] = l
        }
        c.isSortedDescending = false
    }

    public mutating func accept(_ token: Int32) {
        guard window > 0 else { return }
        recent.append(token)
        if recent.count > window { recent.removeFirst(recent.count - window) }
    }

    public mutating func reset() { recent.removeAll() }
}

/// Keeps the `k` most likely tokens (k ≤ 0 keeps all).
public struct TopKStage: SamplerStage {
    public var k: Int
    public init(k: Int) { self.k = k }
    public var keepsAtMost: Int? { k > 0 ? k : nil }
    public mutating func apply(to c: inout TokenCandidates) {
        guard k > 0, k < c.count else { return }
        c.sortDescending(keeping: k)
    }
}

/// Nucleus sampling: keeps the smallest set of most likely tokens whose probability reaches `p`.
public struct TopPStage: SamplerStage {
    public var p: Double
    public var minKeep: Int
    public init(p: Double, minKeep: Int = 1) { self.p = p; self.minKeep = minKeep }
    public mutating func apply(to c: inout TokenCandidates) {
        guard p < 1, c.count > 1 else { return }
        c.sortDescending()
        let probs = c.probabilities()
        var sum = 0.0, keep = c.count
        for (i, q) in probs.enumerated() {
            sum += q
            if sum >= p && i + 1 >= minKeep { keep = i + 1; break }
        }
        c.truncate(to: keep)
    }
}

/// Keeps tokens at least `p` times as likely as the most likely one.
public struct MinPStage: SamplerStage {
    public var p: Float
    public var minKeep: Int
    public init(p: Float, minKeep: Int = 1) { self.p = p; self.minKeep = minKeep }
    public mutating func apply(to c: inout TokenCandidates) {
        guard p > 0, c.count > 1 else { return }
        c.sortDescending()
        let threshold = c.logits[0] + log(p)
        var keep = c.count
        for i in 0..<c.count where c.logits[i] < threshold { keep = max(i, minKeep); break }
        c.truncate(to: keep)
    }
}

/// Divides logits by the temperature.
public struct TemperatureStage: SamplerStage {
    public var temperature: Float
    public init(temperature: Float) { self.temperature = temperature }
    public mutating func apply(to c: inout TokenCandidates) {
        guard temperature > 0, temperature != 1 else { return }
        let inv = 1 / temperature
        for i in 0..<c.count { c.logits[i] *= inv }
    }
}

/// Chooses the most likely token (the lowest id among equals).
public struct GreedyStage: SamplerStage {
    public init() {}
    public var keepsAtMost: Int? { 1 }
    public mutating func apply(to c: inout TokenCandidates) {
        guard c.count > 0 else { return }
        var best = 0
        for i in 1..<c.count where c.logits[i] > c.logits[best] || (c.logits[i] == c.logits[best] && c.ids[i] < c.ids[best]) {
            best = i
        }
        c.selected = best
    }
}

/// Draws a token from the softmax of the candidates with a seeded generator: the same seed
/// gives the same choices on every run.
public struct DistributionStage: SamplerStage {
    public let seed: UInt64
    private var random: SeededRandom

    public init(seed: UInt64) {
        self.seed = seed
        random = SeededRandom(seed: seed)
    }

    public mutating func apply(to c: inout TokenCandidates) {
        guard c.count > 0 else { return }
        let probs = c.probabilities()
        let r = random.nextUnitInterval()
        var sum = 0.0
        for (i, q) in probs.enumerated() {
            sum += q
            if r < sum { c.selected = i; return }
        }
        c.selected = probs.count - 1
    }

    public mutating func reset() { random = SeededRandom(seed: seed) }
}

/// xoshiro256** seeded through SplitMix64: small, fast and identical on every platform.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// A uniform double in [0, 1).
    public mutating func nextUnitInterval() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
