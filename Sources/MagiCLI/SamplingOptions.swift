import ArgumentParser
import MagiEngine

/// Sampling flags, named as llama.cpp names them; their names, help and ranges come from
/// ``SamplingSetting``'s table. An unset flag falls back on MAGI_TEMPERATURE (for `--temp`) and
/// config.toml's `[sampling]` (``MagiConfig``), then on the model's recommendation.
struct SamplingOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .customLong("max-tokens"), .customLong("n-predict")], help: "Most tokens to generate (default: until the model stops or the window is full).")
    var maxTokensFlag: Int?
    @Option(name: .customLong(SamplingSetting.temperature.flag), help: Self.help(.temperature, default: "$MAGI_TEMPERATURE, config.toml's, else the model's recommendation, else 0"))
    var temperatureFlag: Double?
    @Option(name: .customLong(SamplingSetting.top_k.flag), help: Self.help(.top_k))
    var topKFlag: Double?
    @Option(name: .customLong(SamplingSetting.top_p.flag), help: Self.help(.top_p))
    var topPFlag: Double?
    @Option(name: .customLong(SamplingSetting.min_p.flag), help: Self.help(.min_p))
    var minPFlag: Double?
    @Option(name: .customLong(SamplingSetting.repeat_penalty.flag), help: Self.help(.repeat_penalty))
    var repeatPenaltyFlag: Double?
    @Option(name: .customLong(SamplingSetting.repeat_last_n.flag), help: Self.help(.repeat_last_n))
    var repeatLastNFlag: Double?
    @Option(name: .customLong(SamplingSetting.presence_penalty.flag), help: Self.help(.presence_penalty))
    var presencePenaltyFlag: Double?
    @Option(name: .customLong(SamplingSetting.frequency_penalty.flag), help: Self.help(.frequency_penalty))
    var frequencyPenaltyFlag: Double?
    @Option(name: .customLong("seed"), help: "Random seed; the same seed gives the same output (default: random).")
    var seedFlag: UInt64?

    /// `--help` text of a sampling flag: what it does, its range and its default.
    private static func help(_ setting: SamplingSetting, default: String? = nil) -> ArgumentHelp {
        ArgumentHelp("\(setting.summary); \(setting.requirement) (default: \(`default` ?? setting.formatted(in: .greedy))).")
    }

    /// The value of each sampling flag given.
    private var flags: [SamplingSetting: Double] {
        let all: [(SamplingSetting, Double?)] = [
            (.temperature, temperatureFlag), (.top_k, topKFlag), (.top_p, topPFlag), (.min_p, minPFlag),
            (.repeat_penalty, repeatPenaltyFlag), (.repeat_last_n, repeatLastNFlag),
            (.presence_penalty, presencePenaltyFlag), (.frequency_penalty, frequencyPenaltyFlag),
        ]
        return Dictionary(uniqueKeysWithValues: all.compactMap { setting, value in value.map { (setting, $0) } })
    }

    func validate() throws {
        if let n = maxTokensFlag, n < 0 { throw ValidationError("--max-tokens must not be negative") }
        for (setting, value) in flags where !setting.accepts(value) {
            throw ValidationError("--\(setting.flag) must be \(setting.requirement)")
        }
    }

    /// The sampling settings given, each with its source: its flag, else MAGI_TEMPERATURE (the
    /// temperature), else config.toml.
    var settings: MagiConfig.SamplingSettings {
        var s = MagiConfig.currentOrEmpty.sampling
        s.maxTokens = s.maxTokens.overridden(by: maxTokensFlag, named: "-n")
        for (setting, value) in flags { s.values[setting] = Sourced(value, .flag("--" + setting.flag)) }
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
        for (setting, value) in s.values { setting.set(value.value, in: &p) }
        p.seed = s.seed?.value ?? UInt64.random(in: 0...UInt64.max)
        return p
    }
}
