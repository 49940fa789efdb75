import Foundation

/// One special (control) token of a Tekken vocabulary: its id (`rank`) and text (`[INST]`, `</s>`…).
///
/// Tekken reserves the first `default_num_special_tokens` ids (1000) for special tokens; ids a table
/// leaves out are filled with placeholders `<SPECIAL_id>`, as mistral-common does.
public struct TekkenSpecialToken: Sendable, Equatable {
    public var rank: Int
    public var text: String

    public init(rank: Int, text: String) {
        self.rank = rank
        self.text = text
    }

    /// mistral-common's `Tekkenizer.DEPRECATED_SPECIAL_TOKENS`, what it uses for a tekken.json of version
    /// v7 or older without a `special_tokens` list (such as its own `tekken_240911.json`, a v3 file):
    /// ids 0–19, from `<unk>`, `<s>`, `</s>`, `[INST]`, `[/INST]` to `[SYSTEM_PROMPT]` 17,
    /// `[/SYSTEM_PROMPT]` 18 and `[TOOL_CONTENT]` 19.
    public static let mistralCommonDefaults: [TekkenSpecialToken] = [
        "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]",
        "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]",
        "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]",
    ].enumerated().map { TekkenSpecialToken(rank: $0.offset, text: $0.element) }

    /// The special tokens of Magistral Small 1.2 (Magistral-Small-2509, tokenizer v13) up to id 35:
    /// ``mistralCommonDefaults``, placeholders for 20–31, then `[ARGS]` 32, `[CALL_ID]` 33, `[THINK]` 34,
    /// `[/THINK]` 35.
    ///
    /// mistral-common 1.13 ships no v13 tekken.json and has no v13 defaults (it refuses a v13 file
    /// without a list); the model's own tekken.json carries the list. Use this table with a file that
    /// lacks one (for instance mistral-common's `tekken_240911.json`, which has the same ordinary
    /// vocabulary) to get Magistral's ids. `[ARGS]` 32 and `[CALL_ID]` 33 are also what mistral-common's
    /// test suite uses for versions after v7; `[THINK]` 34 and `[/THINK]` 35 are Magistral's ids (the
    /// test suite's synthetic v13 tables put them at 35 and 36, after a placeholder).
    public static let magistralSmall12: [TekkenSpecialToken] = mistralCommonDefaults
        + (20..<32).map { TekkenSpecialToken(rank: $0, text: "<SPECIAL_\($0)>") }
        + [TekkenSpecialToken(rank: 32, text: "[ARGS]"), TekkenSpecialToken(rank: 33, text: "[CALL_ID]"),
           TekkenSpecialToken(rank: 34, text: "[THINK]"), TekkenSpecialToken(rank: 35, text: "[/THINK]")]
}

extension TokenizerVocabulary {
    /// Reads a tekken.json in mistral-common's format (see ``init(tekkenJSON:source:specialTokens:)``).
    ///
    /// - Throws: ``TokenizerError/malformedTekkenFile(path:reason:)`` if the file cannot be read or is
    ///   not a tekken.json.
    public init(tekkenFile path: String, specialTokens fallback: [TekkenSpecialToken]? = nil) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenizerError.malformedTekkenFile(path: path, reason: "cannot read it (\(error.localizedDescription))")
        }
        try self.init(tekkenJSON: data, source: path, specialTokens: fallback)
    }

    /// The vocabulary of a tekken.json, in the shape llama.cpp writes into a Tekken GGUF: ids
    /// `0..<default_num_special_tokens` are control tokens, then the first
    /// `default_vocab_size - default_num_special_tokens` entries of `vocab` (by rank) as byte-level BPE
    /// strings. ``Tokenizer/init(vocabulary:)`` merges them by rank, exactly as mistral-common's tiktoken.
    ///
    /// Special tokens come from the file's `special_tokens` list; if it has none, from `fallback`; if
    /// that is nil too, from ``TekkenSpecialToken/mistralCommonDefaults`` for versions up to v7 (as
    /// mistral-common does), while later versions are refused (as mistral-common does). BOS `<s>` is
    /// added by `encode(_:addSpecial: true)`, as mistral-common's `encode(text, bos=True, eos=False)`.
    ///
    /// - Parameter source: the file name used in error messages.
    /// - Throws: ``TokenizerError/malformedTekkenFile(path:reason:)``,
    ///   ``TokenizerError/missingTekkenSpecialTokens(path:version:)``.
    public init(tekkenJSON data: Data, source: String = "tekken.json",
                specialTokens fallback: [TekkenSpecialToken]? = nil) throws {
        func malformed(_ reason: String) -> TokenizerError {
            TokenizerError.malformedTekkenFile(path: source, reason: reason)
        }
        var config: [String: JSONScanner.Value] = [:]
        var fileSpecialTokens: [JSONScanner.Value]?
        var vocabulary: [[UInt8]] = []
        var scanner = JSONScanner(Array(data))
        do {
            try scanner.forEachMember { scanner, key in
                switch key {
                case "config":
                    guard case .object(let members) = try scanner.readValue() else { throw malformed("config is not an object") }
                    config = members
                case "special_tokens":
                    switch try scanner.readValue() {
                    case .array(let list): fileSpecialTokens = list
                    case .null: break
                    default: throw malformed("special_tokens is not a list")
                    }
                case "vocab":
                    try scanner.forEachElement { scanner, index in
                        var rank: Int?
                        var bytes: [UInt8]?
                        try scanner.forEachMember { scanner, key in
                            switch key {
                            case "rank":
                                rank = try scanner.readInteger()
                            case "token_bytes":
                                if let base64 = try scanner.readPlainStringBytes() { bytes = Self.base64Decoded(base64) }
                            default:
                                try scanner.skipValue()
                            }
                        }
                        guard rank == index, let bytes else {
                            throw malformed("vocab entry \(index) needs rank \(index) and base64 token_bytes")
                        }
                        vocabulary.append(bytes)
                    }
                default:
                    try scanner.skipValue()
                }
            }
        } catch let error as JSONScanner.SyntaxError {
            throw malformed(error.description)
        }

        func integer(_ key: String) throws -> Int {
            guard case .number(let value)? = config[key], let integer = Int(exactly: value), integer >= 0 else {
                throw malformed("config.\(key) is missing or not a non-negative integer")
            }
            return integer
        }
        guard case .string(let pattern)? = config["pattern"] else { throw malformed("config.pattern is missing") }
        guard pattern == TekkenPattern.source else {
            throw malformed("config.pattern is not the Tekken pattern MagiTokenizer implements (\(pattern))")
        }
        guard case .string(let version)? = config["version"], version.first == "v",
              let versionNumber = Int(version.dropFirst()) else {
            throw malformed("config.version is missing or not of the form v3, v7, v13…")
        }
        let vocabularySize = try integer("default_vocab_size")
        let specialCount = try integer("default_num_special_tokens")
        guard specialCount <= vocabularySize, vocabularySize - specialCount <= vocabulary.count else {
            throw malformed("default_vocab_size \(vocabularySize) is more than default_num_special_tokens "
                            + "\(specialCount) plus the \(vocabulary.count) vocab entries")
        }

        var specials: [TekkenSpecialToken]
        if let fileSpecialTokens {
            specials = try fileSpecialTokens.map { entry in
                guard case .object(let members) = entry, case .number(let rank)? = members["rank"],
                      let rank = Int(exactly: rank), case .string(let text)? = members["token_str"] else {
                    throw malformed("a special_tokens entry needs an integer rank and a token_str")
                }
                return TekkenSpecialToken(rank: rank, text: text)
            }
        } else if let fallback {
            specials = fallback
        } else if versionNumber <= 7 {
            specials = TekkenSpecialToken.mistralCommonDefaults
        } else {
            throw TokenizerError.missingTekkenSpecialTokens(path: source, version: version)
        }
        var specialTexts = (0..<specialCount).map { "<SPECIAL_\($0)>" }
        var seen = Set<Int>()
        for special in specials {
            guard (0..<specialCount).contains(special.rank), seen.insert(special.rank).inserted else {
                throw malformed("special token \(special.text) has rank \(special.rank), which is repeated or not "
                                + "below default_num_special_tokens \(specialCount)")
            }
            specialTexts[special.rank] = special.text
        }
        guard Set(specialTexts).count == specialCount else { throw malformed("special token texts are not unique") }
        guard let bos = specialTexts.firstIndex(of: "<s>"), let eos = specialTexts.firstIndex(of: "</s>") else {
            throw malformed("the special tokens lack <s> or </s>")
        }

        let ordinary = vocabulary[0..<(vocabularySize - specialCount)].map { ByteLevelAlphabet.text(forBytes: $0) }
        self.init(model: "gpt2", preTokenizer: "tekken", tokens: specialTexts + ordinary,
                  tokenTypes: [Int32](repeating: 3, count: specialCount)
                      + [Int32](repeating: 1, count: vocabularySize - specialCount),
                  bosID: Int32(bos), eosID: Int32(eos), unknownID: specialTexts.firstIndex(of: "<unk>").map(Int32.init),
                  paddingID: specialTexts.firstIndex(of: "<pad>").map(Int32.init), addBOS: true, addEOS: false)
        tekkenVersion = version
    }

    /// Standard base64 with optional padding; nil for anything else.
    static func base64Decoded(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(text.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for character in text {
            let value: UInt8
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                result.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return result
    }
}

extension Tokenizer {
    /// A tokenizer for a tekken.json in mistral-common's format, without a model: ids, encoding and
    /// decoding as mistral-common's (see ``TokenizerVocabulary/init(tekkenJSON:source:specialTokens:)``
    /// for `specialTokens`).
    ///
    /// `encode(text, addSpecial: false, parseSpecial: false)` equals mistral-common's
    /// `encode(text, bos=False, eos=False)`, and `decode(ids, renderSpecial: false)` its `decode(ids)`
    /// (`renderSpecial: true`: its `SpecialTokenPolicy.KEEP`). One difference: mistral-common decodes each
    /// run of ordinary tokens between special tokens on its own, so a character whose bytes a special
    /// token interrupts becomes U+FFFD there, while here (and in ``StreamingDecoder``) the bytes are joined.
    /// Special tokens are found by name with ``Tokenizer/tokenID(for:)`` (`"[INST]"` → 3).
    public convenience init(tekkenFile path: String, specialTokens: [TekkenSpecialToken]? = nil) throws {
        try self.init(vocabulary: TokenizerVocabulary(tekkenFile: path, specialTokens: specialTokens))
    }
}
