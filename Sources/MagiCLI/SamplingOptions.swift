import ArgumentParser
import MagiEngine

/// Sampling flags, named as llama.cpp names them. An unset flag falls back on MAGI_TEMPERATURE
/// (for `--temp`) and config.toml's `[sampling]` (``MagiConfig``), then on the model's recommendation.
struct SamplingOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .customLong("max-tokens"), .customLong("n-predict")], help: "Most tokens to generate (default: until the model stops or the window is full).")
    var maxTokensFlag: Int?
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy (default: $MAGI_TEMPERATURE, config.toml's, else the model's recommendation, else 0).")
    var temperatureFlag: Float?
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all; default 40).")
    var topKFlag: Int?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1: off; default 0.95).")
    var topPFlag: Double?
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than this fraction of the best (0: off; default 0.05).")
    var minPFlag: Float?
    @Option(name: .customLong("repeat-penalty"), help: "Penalty on recently used tokens (1: off, the default).")
    var repeatPenaltyFlag: Float?
    @Option(name: .customLong("repeat-last-n"), help: "Tokens the penalties look back over (default 64).")
    var repeatLastNFlag: Int?
    @Option(name: .customLong("presence-penalty"), help: "Subtracted once from every token already used (default 0).")
    var presencePenaltyFlag: Float?
    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per use from every token already used (default 0).")
    var frequencyPenaltyFlag: Float?
    @Option(name: .customLong("seed"), help: "Random seed; the same seed gives the same output (default: random).")
    var seedFlag: UInt64?

    func validate() throws {
        if let n = maxTokensFlag, n < 0 { throw ValidationError("--max-tokens must not be negative") }
        if let t = temperatureFlag, t < 0 { throw ValidationError("--temp must not be negative") }
        if let p = topPFlag, !(0...1).contains(p) { throw ValidationError("--top-p must be between 0 and 1") }
        if let p = minPFlag, !(0...1).contains(p) { throw ValidationError("--min-p must be between 0 and 1") }
        if let r = repeatPenaltyFlag, r <= 0 { throw ValidationError("--repeat-penalty must be positive") }
        if let n = repeatLastNFlag, n < 0 { throw ValidationError("--repeat-last-n must not be negative") }
        MagiConfig.loadOrExit()
    }

    /// The sampling settings given, each with its source: its flag, else MAGI_TEMPERATURE (the
    /// temperature), else config.toml.
    var settings: MagiConfig.SamplingSettings {
        var s = MagiConfig.currentOrEmpty.sampling
        s.maxTokens = s.maxTokens.overridden(by: maxTokensFlag, named: "-n")
        s.temperature = s.temperature.overridden(by: temperatureFlag, named: "--temp")
        s.topK = s.topK.overridden(by: topKFlag, named: "--top-k")
        s.topP = s.topP.overridden(by: topPFlag, named: "--top-p")
        s.minP = s.minP.overridden(by: minPFlag, named: "--min-p")
        s.repeatPenalty = s.repeatPenalty.overridden(by: repeatPenaltyFlag, named: "--repeat-penalty")
        s.repeatLastN = s.repeatLastN.overridden(by: repeatLastNFlag, named: "--repeat-last-n")
        s.presencePenalty = s.presencePenalty.overridden(by: presencePenaltyFlag, named: "--presence-penalty")
        s.frequencyPenalty = s.frequencyPenalty.overridden(by: frequencyPenaltyFlag, named: "--frequency-penalty")
        s.seed = s.seed.overridden(by: seedFlag, named: "--seed")
        return s
    }

    /// The most tokens to generate; nil: until the model stops or the window is full.
    var maxTokens: Int? { settings.maxTokens?.value }
    /// The seed; nil: a random one.
    var seed: UInt64? { settings.seed?.value }

    /// The parameters to sample with: these settings over the model's recommendation. A model that
    /// recommends nothing is decoded greedily, so its answers are reproducible; a temperature turns
    /// sampling on.
    func parameters(recommended: SamplingParameters?) -> SamplingParameters {
        let s = settings
        var p = recommended ?? .greedy
        if let t = s.temperature { p.temperature = t.value }
        if let k = s.topK { p.topK = k.value }
        if let t = s.topP { p.topP = t.value }
        if let m = s.minP { p.minP = m.value }
        if let r = s.repeatPenalty { p.repeatPenalty = r.value }
        if let n = s.repeatLastN { p.penaltyWindow = n.value }
        if let r = s.presencePenalty { p.presencePenalty = r.value }
        if let r = s.frequencyPenalty { p.frequencyPenalty = r.value }
        p.seed = s.seed?.value ?? UInt64.random(in: 0...UInt64.max)
        return p
    }
}
