import MagiEngine
import MagiTokenizer

/// A GGUF model ready to chat with: the weights, its tokenizer, its chat template and the tokens
/// that end a reply.
public final class LocalModel: @unchecked Sendable {
    public let path: String
    public let model: LlamaModel
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    /// Tokens that end generation (EOS, end-of-turn and their kin).
    public let stopTokens: Set<Int32>
    /// BOS when the vocabulary asks for it at the start of a sequence, else nil.
    public let sequenceStart: Int32?

    /// Loads the model at `path`, failing with a one-line reason on any problem with the file.
    public init(path: String) throws {
        self.path = path
        let file = try GGUFFile(path: path)
        model = try LlamaModel(file: file)
        let vocabulary = try TokenizerVocabulary(gguf: file)
        tokenizer = try Tokenizer(vocabulary: vocabulary)
        sequenceStart = vocabulary.addBOS ? vocabulary.bosID : nil
        template = ChatTemplate(source: try file.optionalString("tokenizer.chat_template"))
        var stops = Set<Int32>()
        for id in 0..<Int32(tokenizer.vocabularySize) where tokenizer.isEndOfGeneration(id) { stops.insert(id) }
        stopTokens = stops
    }

    /// The token ids of a chat turn: the conversation rendered in the model's format, opened for the assistant.
    public func promptTokens(for messages: [ChatMessage]) -> [Int32] {
        tokenizer.encode(template.render(messages), addSpecial: true, parseSpecial: true)
    }

    /// The token ids of plain text for completion (`--raw`), with BOS when the vocabulary adds it.
    public func rawTokens(for text: String) -> [Int32] {
        tokenizer.encode(text, addSpecial: true, parseSpecial: false)
    }
}
