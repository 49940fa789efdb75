/// User-facing sampling parameters, named as llama.cpp names them.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// 0 or less means greedy decoding.
    public var temperature: Float = 0.8
    public var topK: Int = 40
    public var topP: Float = 0.95
    public var minP: Float = 0.05
    public var repeatPenalty: Float = 1.0
    public var frequencyPenalty: Float = 0
    public var presencePenalty: Float = 0
    /// Tokens the penalties look back over.
    public var penaltyWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}

    /// Greedy decoding: always the most likely token.
    public static var greedy: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        return p
    }
}

/// An ordered chain of sampler stages ending in a choosing stage; itself a stage.
///
/// A constraint (grammar, JSON schema) is inserted as one more stage before the choice, so it can
/// mask logits that must not be sampled. The default chain follows llama.cpp's order:
/// penalties → top-k → top-p → min-p → temperature → draw.
public struct Sampler: SamplerStage {
    public private(set) var stages: [any SamplerStage]
    private var candidates = TokenCandidates()

    public init(stages: [any SamplerStage]) { self.stages = stages }

    public init(_ p: SamplingParameters) {
        var stages: [any SamplerStage] = []
        let penalties = PenaltyStage(window: p.penaltyWindow, repeatPenalty: p.repeatPenalty,
                                     frequencyPenalty: p.frequencyPenalty, presencePenalty: p.presencePenalty)
        if !penalties.isNeutral { stages.append(penalties) }
        if p.temperature <= 0 {
            stages.append(GreedyStage())
        } else {
            if p.topK > 0 { stages.append(TopKStage(k: p.topK)) }
            if p.topP < 1 { stages.append(TopPStage(p: Double(p.topP))) }
            if p.minP > 0 { stages.append(MinPStage(p: p.minP)) }
            stages.append(TemperatureStage(temperature: p.temperature))
            stages.append(DistributionStage(seed: p.seed))
        }
        self.init(stages: stages)
    }

    /// Inserts `stage` (a constraint) before every other stage but the penalties, so nothing it masks is
    /// seen by filters or the draw. (Penalties change each token's logit on its own, so whether they
    /// come before or after a mask makes no difference.) A ``GrammarConstraint`` is told how many
    /// candidates the stage after it keeps.
    public mutating func prepend(_ stage: any SamplerStage) {
        let at = stages.firstIndex { !($0 is PenaltyStage) } ?? stages.count
        var stage = stage
        if var constraint = stage as? GrammarConstraint {
            constraint.candidatesNeeded = at < stages.count ? stages[at].keepsAtMost : nil
            stage = constraint
        }
        stages.insert(stage, at: at)
    }

    public mutating func apply(to c: inout TokenCandidates) {
        for i in stages.indices {
            stages[i].apply(to: &c)
            if c.selected != nil { return }
        }
    }

    public mutating func accept(_ token: Int32) {
        for i in stages.indices { stages[i].accept(token) }
    }

    public mutating func reset() {
        for i in stages.indices { stages[i].reset() }
    }

    public mutating func setTokenBudget(_ remaining: Int?) {
        for i in stages.indices { stages[i].setTokenBudget(remaining) }
    }

    /// True when a constraint of the chain is inside a structure its grammar cannot end yet: output
    /// stopped now would be cut short.
    public var isInsideConstrainedStructure: Bool {
        stages.contains { ($0 as? GrammarConstraint)?.isInsideStructure == true }
    }

    /// Chooses the next token from a logit vector and lets every stage see the choice.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var c = candidates
        candidates = TokenCandidates() // hand the storage over, so it is reused, not copied
        c.load(logits)
        apply(to: &c)
        precondition(!c.ids.isEmpty, "sampler chain removed every candidate")
        let token = c.ids[c.selected ?? 0]
        candidates = c
        accept(token)
        return token
    }
}
