/// A sampling parameter, described once. The command-line flags, config.toml's `[sampling]`, `/set`,
/// `/show params`, `magi config` and `magi serve`'s request reader all read this table, so they accept
/// the same values and start from the same default.
public enum SamplingSetting: String, CaseIterable, Sendable {
    case temperature, top_p, top_k, min_p, repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty

    /// The name in config.toml's `[sampling]`, in `/set` and in JSON requests.
    public var name: String { rawValue }

    /// The long command-line flag, as llama.cpp names it (without the dashes).
    public var flag: String {
        switch self {
        case .temperature: "temp"
        default: rawValue.replacingOccurrences(of: "_", with: "-")
        }
    }

    /// What the setting does, for `--help`.
    public var summary: String {
        switch self {
        case .temperature: "Temperature; 0 is greedy"
        case .top_k: "Keep the k most likely tokens (0: all)"
        case .top_p: "Nucleus sampling threshold (1: off)"
        case .min_p: "Drop tokens less likely than this fraction of the best (0: off)"
        case .repeat_penalty: "Penalty on recently used tokens (1: off)"
        case .repeat_last_n: "Tokens the penalties look back over"
        case .presence_penalty: "Subtracted once from every token already used"
        case .frequency_penalty: "Subtracted per use from every token already used"
        }
    }

    /// Whether only whole numbers are allowed.
    public var isWholeNumber: Bool { self == .top_k || self == .repeat_last_n }

    /// The lowest and highest value allowed; `lowest` itself is excluded when `excludesLowest`.
    public var range: (lowest: Double, highest: Double, excludesLowest: Bool) {
        switch self {
        case .temperature: (0, 2, false)
        case .top_k, .repeat_last_n: (0, Double(1 << 24), false)
        case .top_p, .min_p: (0, 1, false)
        case .repeat_penalty: (0, 100, true)
        case .presence_penalty, .frequency_penalty: (-2, 2, false)
        }
    }

    /// The values allowed, in words: "between 0 and 1", "more than 0 and at most 100".
    public var requirement: String {
        let r = range
        let kind = isWholeNumber ? "a whole number " : ""
        return r.excludesLowest
            ? "\(kind)more than \(Self.format(r.lowest)) and at most \(Self.format(r.highest))"
            : "\(kind)between \(Self.format(r.lowest)) and \(Self.format(r.highest))"
    }

    /// Whether `value` is allowed.
    public func accepts(_ value: Double) -> Bool {
        let r = range
        guard value.isFinite, value <= r.highest, r.excludesLowest ? value > r.lowest : value >= r.lowest else { return false }
        return !isWholeNumber || value == value.rounded()
    }

    /// The setting's value in `parameters`.
    public func value(in parameters: SamplingParameters) -> Double {
        switch self {
        case .temperature: Double(parameters.temperature)
        case .top_k: Double(parameters.topK)
        case .top_p: Double(parameters.topP)
        case .min_p: Double(parameters.minP)
        case .repeat_penalty: Double(parameters.repeatPenalty)
        case .repeat_last_n: Double(parameters.penaltyWindow)
        case .presence_penalty: Double(parameters.presencePenalty)
        case .frequency_penalty: Double(parameters.frequencyPenalty)
        }
    }

    /// Sets the setting in `parameters` to `value`, which ``accepts(_:)``.
    public func set(_ value: Double, in parameters: inout SamplingParameters) {
        precondition(accepts(value), "\(name) \(value) is outside its range")
        switch self {
        case .temperature: parameters.temperature = Float(value)
        case .top_k: parameters.topK = Int(value)
        case .top_p: parameters.topP = Float(value)
        case .min_p: parameters.minP = Float(value)
        case .repeat_penalty: parameters.repeatPenalty = Float(value)
        case .repeat_last_n: parameters.penaltyWindow = Int(value)
        case .presence_penalty: parameters.presencePenalty = Float(value)
        case .frequency_penalty: parameters.frequencyPenalty = Float(value)
        }
    }

    /// The value used when neither the user nor the model's card sets one (greedy decoding's).
    public var defaultValue: Double { value(in: .greedy) }

    /// The setting's value in `parameters`, written as `/show params` and `magi config` print it.
    public func formatted(in parameters: SamplingParameters) -> String { Self.format(value(in: parameters)) }

    /// A number without a needless fraction or float noise: `40`, `0.95`, `-2`.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return Double(Float(value)) == value ? "\(Float(value))" : "\(value)"
    }
}
