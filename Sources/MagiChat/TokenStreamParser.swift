import MagiTokenizer

/// A ``StreamParser`` fed token ids: control tokens go in by name (so `[THINK]` counts only as the
/// token, never as typed text), other tokens as their decoded text.
public struct TokenStreamParser: Sendable {
    private let tokenizer: Tokenizer
    private var decoder: StreamingDecoder
    public private(set) var parser: StreamParser

    public init(tokenizer: Tokenizer, parser: StreamParser = StreamParser()) {
        self.tokenizer = tokenizer
        self.decoder = tokenizer.makeStreamingDecoder(renderSpecial: false)
        self.parser = parser
    }

    /// The assistant message the stream amounts to so far.
    public var message: ChatMessage { parser.message }

    /// Adds one generated token; returns the events it completes.
    public mutating func append(_ id: Int32) -> [StreamEvent] {
        guard tokenizer.isControl(id), let name = tokenizer.tokenText(id) else {
            return parser.append(text: decoder.append(id))
        }
        // A control token ends any character still held back by the decoder.
        let held = decoder.finish()
        return parser.append(text: held) + parser.append(special: name)
    }

    /// Ends the stream (see ``StreamParser/finish()``).
    public mutating func finish() -> [StreamEvent] {
        parser.append(text: decoder.finish()) + parser.finish()
    }
}
