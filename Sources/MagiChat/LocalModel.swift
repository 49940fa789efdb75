import MagiEngine
import MagiTokenizer

/// A GGUF model ready to chat with: the weights, its tokenizer, its chat template and the tokens
/// that end a reply.
// Sendable by hand: immutable after `init`; the model and tokenizer it holds are read-only.
public final class LocalModel: @unchecked Sendable {
    public let path: String
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    /// Tokens that end generation (EOS, end-of-turn and their kin).
    public let stopTokens: Set<Int32>
    /// BOS when the vocabulary asks for it at the start of a sequence, else nil.
    public let sequenceStart: Int32?

    /// Loads the model at `path`, failing with a one-line reason on any problem with the file.
    ///
    /// - Parameter chatFormat: the chat format to use instead of the one detected from the file.
    /// - Throws: also ``ChatFormatError/missingSpecialToken(_:)`` when the vocabulary lacks a token the
    ///   chat format needs for plain conversations.
    public init(path: String, chatFormat: ChatFormat? = nil) throws {
        self.path = path
        let file = try GGUFFile(path: path)
        model = try ModelArchitectures.load(file)
        let vocabulary = try TokenizerVocabulary(gguf: file)
        tokenizer = try Tokenizer(vocabulary: vocabulary)
        sequenceStart = vocabulary.addBOS ? vocabulary.bosID : nil
        template = ChatTemplate(source: try file.optionalString("tokenizer.chat_template"), tokenizer: tokenizer,
                                format: chatFormat)
        for name in template.format?.requiredSpecialTokens ?? [] where tokenizer.tokenID(for: name) == nil {
            throw ChatFormatError.missingSpecialToken(name)
        }
        var stops = Set<Int32>()
        for id in 0..<Int32(tokenizer.vocabularySize) where tokenizer.isEndOfGeneration(id) { stops.insert(id) }
        stopTokens = stops
    }

    /// The token ids of a chat turn: the conversation rendered in the model's format, opened for the
    /// assistant. Text never becomes a control token, whatever it contains.
    ///
    /// - Throws: ``ChatFormatError`` when the format cannot express the conversation (tools in Llama 3,
    ///   reasoning before Mistral v13…) or the vocabulary lacks a token it needs.
    public func promptTokens(for conversation: Conversation) throws -> [Int32] {
        try template.render(conversation).tokens(using: tokenizer, sequenceStart: sequenceStart)
    }

    /// The token ids of a plain chat turn: the messages' text only (tool calls and reasoning left out).
    ///
    /// - Throws: ``ChatFormatError/unrecognizedTemplate`` when the model's format is unknown; `init`
    ///   checked every token a known format needs for plain messages.
    public func promptTokens(for messages: [ChatMessage]) throws -> [Int32] {
        let plain = messages.map {
            ChatMessage(role: $0.role, parts: $0.content.isEmpty ? [] : [.text($0.content)], toolCallID: $0.toolCallID,
                        toolName: $0.toolName)
        }
        return try promptTokens(for: Conversation(messages: plain))
    }

    /// The token ids of plain text for completion (`--raw`), with BOS when the vocabulary adds it.
    public func rawTokens(for text: String) -> [Int32] {
        tokenizer.encode(text, addSpecial: true, parseSpecial: false)
    }
}
