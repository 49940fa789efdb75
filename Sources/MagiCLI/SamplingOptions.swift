import ArgumentParser
import MagiEngine

/// Sampling flags, named as llama.cpp names them. Unset flags keep the model's recommendation.
struct SamplingOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .customLong("max-tokens"), .customLong("n-predict")], help: "Most tokens to generate (default: until the model stops or the window is full).")
    var maxTokens: Int?
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy (default: the model's recommendation, else 0).")
    var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all; default 40).")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1: off; default 0.95).")
    var topP: Double?
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than this fraction of the best (0: off; default 0.05).")
    var minP: Float?
    @Option(name: .customLong("repeat-penalty"), help: "Penalty on recently used tokens (1: off, the default).")
    var repeatPenalty: Float?
    @Option(name: .customLong("repeat-last-n"), help: "Tokens the penalties look back over (default 64).")
    var repeatLastN: Int?
    @Option(name: .customLong("presence-penalty"), help: "Subtracted once from every token already used (default 0).")
    var presencePenalty: Float?
    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per use from every token already used (default 0).")
    var frequencyPenalty: Float?
    @Option(name: .customLong("seed"), help: "Random seed; the same seed gives the same output (default: random).")
    var seed: UInt64?

    func validate() throws {
        if let n = maxTokens, n < 0 { throw ValidationError("--max-tokens must not be negative") }
        if let t = temperature, t < 0 { throw ValidationError("--temp must not be negative") }
        if let p = topP, !(0...1).contains(p) { throw ValidationError("--top-p must be between 0 and 1") }
        if let p = minP, !(0...1).contains(p) { throw ValidationError("--min-p must be between 0 and 1") }
        if let r = repeatPenalty, r <= 0 { throw ValidationError("--repeat-penalty must be positive") }
        if let n = repeatLastN, n < 0 { throw ValidationError("--repeat-last-n must not be negative") }
    }

    /// The parameters to sample with: these flags over the model's recommendation. A model that
    /// recommends nothing is decoded greedily, so its answers are reproducible; `--temp` turns
    /// sampling on.
    func parameters(recommended: SamplingParameters?) -> SamplingParameters {
        var p = recommended ?? .greedy
        if let temperature { p.temperature = temperature }
        if let topK { p.topK = topK }
        if let topP { p.topP = topP }
        if let minP { p.minP = minP }
        if let repeatPenalty { p.repeatPenalty = repeatPenalty }
        if let repeatLastN { p.penaltyWindow = repeatLastN }
        if let presencePenalty { p.presencePenalty = presencePenalty }
        if let frequencyPenalty { p.frequencyPenalty = frequencyPenalty }
        p.seed = seed ?? UInt64.random(in: 0...UInt64.max)
        return p
    }
}
