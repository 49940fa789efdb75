/// Why a ``Tokenizer`` could not be built from a ``TokenizerVocabulary``.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// `tokenizer.ggml.model` is neither `gpt2` (byte-level BPE) nor `llama` (SentencePiece).
    case unknownModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer llama.cpp does not know either (llama.cpp refuses to
    /// load such a model too).
    case unknownPreTokenizer(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer llama.cpp knows but this implementation does not.
    case unsupportedPreTokenizer(String)
    /// The vocabulary has no tokens.
    case emptyVocabulary
    /// A per-token array (scores or token types) does not have one entry per token.
    case tokenArrayCountMismatch(array: String, count: Int, tokenCount: Int)
    /// A byte-level BPE vocabulary has no merges.
    case missingMerges
    /// A merge is not two token texts separated by a space.
    case malformedMerge(index: Int, merge: String)

    public var description: String {
        switch self {
        case .unknownModel(let model):
            return "unknown tokenizer model '\(model)' (tokenizer.ggml.model): only 'gpt2' (byte-level BPE) and "
                + "'llama' (SentencePiece) are supported"
        case .unknownPreTokenizer(let name):
            return "unknown pre-tokenizer '\(name)' (tokenizer.ggml.pre); llama.cpp rejects it too — "
                + "reconvert the model with a current llama.cpp convert_hf_to_gguf.py"
        case .unsupportedPreTokenizer(let name):
            return "pre-tokenizer '\(name)' (tokenizer.ggml.pre) is known to llama.cpp but not implemented in "
                + "MagiTokenizer yet (see PreTokenizer.forName)"
        case .emptyVocabulary:
            return "the vocabulary has no tokens (tokenizer.ggml.tokens is empty)"
        case .tokenArrayCountMismatch(let array, let count, let tokenCount):
            return "tokenizer.ggml.\(array) has \(count) entries but there are \(tokenCount) tokens; "
                + "the model file is inconsistent"
        case .missingMerges:
            return "byte-level BPE vocabulary without merges (tokenizer.ggml.merges is missing or empty)"
        case .malformedMerge(let index, let merge):
            return "merge #\(index) '\(merge)' is not of the form 'left right' (tokenizer.ggml.merges)"
        }
    }
}
