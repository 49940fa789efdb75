import MagiEngine

/// What a model card recommends: the system prompt and sampling to use with the model.
public struct RecommendedSettings: Sendable, Equatable {
    /// The model these settings are published for.
    public let model: String
    public let systemMessage: ChatMessage
    public let temperature: Float
    public let topP: Float
    /// Optional per the card; nil when it recommends none.
    public let minP: Float?
    /// The longest context the card vouches for (quality drops past it), if it names one.
    public let contextQualityLimit: Int?

    public init(model: String, systemMessage: ChatMessage, temperature: Float, topP: Float, minP: Float?, contextQualityLimit: Int?) {
        self.model = model
        self.systemMessage = systemMessage
        self.temperature = temperature
        self.topP = topP
        self.minP = minP
        self.contextQualityLimit = contextQualityLimit
    }

    /// Magistral Small 1.2 (Magistral-Small-2509): the card's system prompt, whose `[THINK]…[/THINK]`
    /// are the special tokens, temperature 0.7 and top-p 0.95; a 128k window whose quality drops
    /// past about 40k tokens.
    public static let magistralSmall12 = RecommendedSettings(
        model: "Magistral Small 1.2",
        systemMessage: ChatMessage(role: .system, parts: [
            .text("First draft your thinking process (inner monologue) until you arrive at a response. Format your "
                + "response using Markdown, and use LaTeX for any mathematical equations. Write both your thoughts and "
                + "the response in the same language as the input.\n\nYour thinking process must follow the template below:"),
            .thinking("Your thoughts or/and draft, like working through an exercise on scratch paper. Be as casual and "
                + "as long as you want until you are confident to generate the response. Use the same language as the input."),
            .text("Here, provide a self-contained response."),
        ]),
        temperature: 0.7, topP: 0.95, minP: nil, contextQualityLimit: 40_000)

    /// The card's sampling as the engine's parameters: its temperature and top-p, min-p when it
    /// names one, and no top-k.
    public var sampling: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topP = topP
        p.topK = 0
        p.minP = minP ?? 0
        return p
    }

    /// The settings of the model family a format belongs to, if magi knows them (v13: Magistral).
    public static func forFormat(_ format: ChatFormat) -> RecommendedSettings? {
        format == .mistralV13 ? .magistralSmall12 : nil
    }
}
