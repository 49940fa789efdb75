import MagiTokenizer

extension TokenizerVocabulary {
    /// Reads the tokenizer a GGUF file describes under `tokenizer.ggml.*`.
    public init(gguf file: GGUFFile) throws {
        let model = try file.string("tokenizer.ggml.model")
        guard let tokens = try file.stringArray("tokenizer.ggml.tokens") else { throw GGUFError.missingKey("tokenizer.ggml.tokens") }
        func numbers<T>(_ key: String, _ convert: (GGUFValue) -> T?) throws -> [T] {
            guard let v = file.metadata[key] else { return [] }
            guard let a = v.arrayValue else { throw GGUFError.wrongKeyType(key: key, expected: "an array") }
            let out = a.compactMap(convert)
            guard out.count == a.count, out.count == tokens.count else {
                throw GGUFError.wrongKeyType(key: key, expected: "an array of \(tokens.count) numbers")
            }
            return out
        }
        func id(_ key: String) throws -> Int32? {
            guard let i = try file.optionalInt(key) else { return nil }
            // Some converters write -1 or an out-of-range id for "none".
            return i >= 0 && i < tokens.count ? Int32(i) : nil
        }
        let pre = try file.optionalString("tokenizer.ggml.pre")
        let defaults = TokenizerVocabulary.llamaCppDefaults(model: model, preTokenizer: pre)
        self.init(
            model: model,
            preTokenizer: pre,
            tokens: tokens,
            scores: try numbers("tokenizer.ggml.scores") { $0.doubleValue.map(Float.init) },
            tokenTypes: try numbers("tokenizer.ggml.token_type") { $0.intValue.map(Int32.init) },
            merges: try file.stringArray("tokenizer.ggml.merges") ?? [],
            bosID: try id("tokenizer.ggml.bos_token_id"),
            eosID: try id("tokenizer.ggml.eos_token_id"),
            unknownID: try id("tokenizer.ggml.unknown_token_id"),
            paddingID: try id("tokenizer.ggml.padding_token_id"),
            endOfTurnID: try id("tokenizer.ggml.eot_token_id"),
            addBOS: try file.optionalBool("tokenizer.ggml.add_bos_token") ?? defaults.addBOS,
            addEOS: try file.optionalBool("tokenizer.ggml.add_eos_token") ?? defaults.addEOS,
            addSpacePrefix: try file.optionalBool("tokenizer.ggml.add_space_prefix") ?? defaults.addSpacePrefix)
    }
}
