/// The tokenizer description a model file carries (GGUF `tokenizer.ggml.*` keys), as plain data.
///
/// The engine fills it from GGUF metadata; ``init(tekkenFile:specialTokens:)`` fills it from a tekken.json.
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece).
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer name (`smollm`, `tekken`, `llama3`, …), if any.
    public var preTokenizer: String?
    /// Token strings by id.
    public var tokens: [String]
    /// SentencePiece scores by id (empty for BPE).
    public var scores: [Float]
    /// ggml token types by id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); empty if absent.
    public var tokenTypes: [Int32]
    /// BPE merges, each "left right" (empty for SentencePiece).
    public var merges: [String]
    public var bosID: Int32?
    public var eosID: Int32?
    public var unknownID: Int32?
    public var paddingID: Int32?
    /// End-of-turn token, if the file names one (`tokenizer.ggml.eot_token_id`).
    public var endOfTurnID: Int32?
    public var addBOS: Bool
    public var addEOS: Bool
    /// `tokenizer.ggml.add_space_prefix` (SentencePiece): prepend a space to the text.
    public var addSpacePrefix: Bool
    /// `config.version` of a tekken.json (`v3`, `v7`, `v13`…): which of mistral-common's prompt formats
    /// the vocabulary belongs to. Nil for other sources (GGUF files do not record it).
    public var tekkenVersion: String?

    public init(model: String, preTokenizer: String? = nil, tokens: [String], scores: [Float] = [],
                tokenTypes: [Int32] = [], merges: [String] = [], bosID: Int32? = nil, eosID: Int32? = nil,
                unknownID: Int32? = nil, paddingID: Int32? = nil, endOfTurnID: Int32? = nil,
                addBOS: Bool = false, addEOS: Bool = false, addSpacePrefix: Bool = false) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.endOfTurnID = endOfTurnID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
    }
}

extension TokenizerVocabulary {
    /// The values llama.cpp assumes when the GGUF file has no `tokenizer.ggml.add_bos_token`,
    /// `add_eos_token` or `add_space_prefix` key: SentencePiece adds BOS and a space prefix; byte-level
    /// BPE adds BOS only for the `llama3` family, `tekken` and `chameleon` pre-tokenizers.
    /// Use them when filling a vocabulary from a file that lacks those keys.
    public static func llamaCppDefaults(model: String, preTokenizer: String?)
        -> (addBOS: Bool, addEOS: Bool, addSpacePrefix: Bool) {
        switch model {
        case "llama":
            return (true, false, true)
        case "gpt2":
            let addsBOS: Set<String> = ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                                        "midm-2.0", "lfm2", "tekken", "chameleon"]
            return (addsBOS.contains(preTokenizer ?? ""), false, false)
        default:
            return (false, false, false)
        }
    }
}
