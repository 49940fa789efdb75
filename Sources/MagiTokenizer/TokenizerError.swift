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
    /// A Tekken (rank-ordered) vocabulary has no ordinary token for this byte, so some text could not be
    /// encoded.
    case missingByteToken(UInt8)
    /// A tekken.json file could not be read or is not in mistral-common's format.
    case malformedTekkenFile(path: String, reason: String)
    /// A tekken.json of a version after v7 has no `special_tokens` list (mistral-common refuses it too).
    case missingTekkenSpecialTokens(path: String, version: String)

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
        case .missingByteToken(let byte):
            return "the Tekken vocabulary has no ordinary token for byte 0x\(String(byte, radix: 16, uppercase: true)); "
                + "ranks 0-255 must be the 256 single bytes (is the file a tekken.json / a Tekken GGUF?)"
        case .malformedTekkenFile(let path, let reason):
            return "cannot use \(path) as a tekken.json (mistral-common's format): \(reason)"
        case .missingTekkenSpecialTokens(let path, let version):
            return "\(path): a \(version) tekken.json must list its special_tokens (mistral-common refuses it too); "
                + "use the tekken.json published with the model, or pass a table such as "
                + "TekkenSpecialToken.magistralSmall12"
        }
    }
}
