/// llama.cpp's per-token attributes, derived from the GGUF token types and a few text-based fix-ups.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt8

    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)

    /// Tokens recognised in text before pre-tokenization (llama.cpp's `cache_special_tokens`).
    static let special: TokenAttributes = [.control, .userDefined, .unknown]
    /// Tokens that render as nothing unless special tokens are rendered.
    static let hiddenUnlessSpecial: TokenAttributes = [.control, .unknown]

    /// The attributes of a GGUF token type (0 undefined, 1 normal, 2 unknown, 3 control,
    /// 4 user-defined, 5 unused, 6 byte).
    init(ggufTokenType type: Int32) {
        switch type {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt8) {
        self.rawValue = rawValue
    }
}
