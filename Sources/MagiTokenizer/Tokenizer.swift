/// Text ↔ token ids for a GGUF vocabulary, with the same results as llama.cpp's `llama_tokenize` and
/// `llama_token_to_piece`, and for Mistral's Tekken with the same results as mistral-common.
///
/// Supports byte-level BPE (`tokenizer.ggml.model = gpt2`, pre-tokenizers by `tokenizer.ggml.pre`) and
/// SentencePiece (`llama`). Immutable after `init`, so one instance can serve many threads.
///
/// Tekken (`tokenizer.ggml.pre = tekken`, or a tekken.json read by
/// ``TokenizerVocabulary/init(tekkenFile:specialTokens:)``) deliberately differs from llama.cpp: text is
/// split with the exact Unicode classes of the Tekken pattern (``TekkenPattern``) and merged as tiktoken
/// does, by the rank (id) of the merged token, ignoring any merges list. Only ordinary tokens come out of
/// text, so `encode(text, parseSpecial: false)` equals mistral-common's `encode(text, bos, eos)`.
public final class Tokenizer: Sendable {
    private enum Encoder: Sendable {
        case bytePair(BytePairEncoder, PreTokenizer)
        case sentencePiece(SentencePieceEncoder)
    }

    private let encoder: Encoder
    private let tokenTexts: [String]
    private let attributes: [TokenAttributes]
    /// Token text bytes → id (last duplicate wins, like llama.cpp's `token_to_id`).
    private let idsByText: [[UInt8]: Int32]
    /// Concatenated pieces (llama.cpp's `token_to_piece` with special = true) and their offsets.
    private let pieceBytes: [UInt8]
    private let pieceOffsets: [Int32]
    /// Control, user-defined and unknown tokens, longest text first, matched in text before
    /// pre-tokenization (llama.cpp's `cache_special_tokens`).
    private let specialTokens: [(id: Int32, text: [UInt8])]
    /// Indices into `specialTokens` by the first byte of their text: all of them (`parseSpecial`), and
    /// those recognised even without `parseSpecial` (user-defined tokens).
    private let specialTokensByFirstByte: (all: [[Int]], alwaysParsed: [[Int]])
    private let endOfGenerationIDs: Set<Int32>
    private let addBOS: Bool
    private let addEOS: Bool
    private let addSpacePrefix: Bool

    /// Number of tokens in the vocabulary (ids are `0..<vocabularySize`).
    public let vocabularySize: Int
    /// Beginning-of-sequence token.
    public let bos: Int32?
    /// End-of-sequence token.
    public let eos: Int32?
    /// End-of-turn token (from the file, else found by text such as `<|im_end|>` or `<|eot_id|>`).
    public let eot: Int32?
    /// Unknown-token id.
    public let unknown: Int32?
    /// Padding token id.
    public let padding: Int32?
    /// True for SentencePiece vocabularies, false for byte-level BPE.
    public let isSentencePiece: Bool

    /// Builds the tokenizer the way llama.cpp's `llama_vocab::load` does (defaults, EOG detection,
    /// token attribute fix-ups); Tekken vocabularies get mistral-common's encoding (see above).
    ///
    /// - Throws: ``TokenizerError`` for an unknown model or pre-tokenizer, malformed merges or
    ///   inconsistent arrays.
    public convenience init(vocabulary: TokenizerVocabulary) throws {
        try self.init(vocabulary: vocabulary, llamaCppTekken: false)
    }

    /// `llamaCppTekken`: encode a `tekken` vocabulary as llama.cpp does (its approximate pattern and the
    /// merges list) instead of as mistral-common does; only the llama.cpp parity tests want that.
    init(vocabulary: TokenizerVocabulary, llamaCppTekken: Bool) throws {
        let count = vocabulary.tokens.count
        guard count > 0 else { throw TokenizerError.emptyVocabulary }
        if !vocabulary.scores.isEmpty && vocabulary.scores.count != count {
            throw TokenizerError.tokenArrayCountMismatch(array: "scores", count: vocabulary.scores.count, tokenCount: count)
        }
        if !vocabulary.tokenTypes.isEmpty && vocabulary.tokenTypes.count != count {
            throw TokenizerError.tokenArrayCountMismatch(array: "token_type", count: vocabulary.tokenTypes.count,
                                                         tokenCount: count)
        }
        vocabularySize = count

        // Token texts (llama.cpp renames empty ones) and the text → id map.
        var texts = vocabulary.tokens
        for i in texts.indices where texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }
        var idsByText: [[UInt8]: Int32] = [:]
        idsByText.reserveCapacity(count)
        for (i, text) in texts.enumerated() { idsByText[Array(text.utf8)] = Int32(i) }

        var attributes: [TokenAttributes] = vocabulary.tokenTypes.isEmpty
            ? Array(repeating: .normal, count: count)
            : vocabulary.tokenTypes.map(TokenAttributes.init(ggufTokenType:))

        // Model type, its default special ids, and the pre-tokenizer.
        var defaultBOS: Int32?, defaultEOS: Int32?, defaultUnknown: Int32?
        switch vocabulary.model {
        case "gpt2":
            defaultBOS = 11
            defaultEOS = 11
            isSentencePiece = false
        case "llama":
            defaultBOS = 1
            defaultEOS = 2
            defaultUnknown = 0
            isSentencePiece = true
        default:
            throw TokenizerError.unknownModel(vocabulary.model)
        }
        func valid(_ id: Int32?, _ fallback: Int32?) -> Int32? {
            if let id, id >= 0, Int(id) < count { return id }
            if let fallback, fallback >= 0, Int(fallback) < count { return fallback }
            return nil
        }
        bos = valid(vocabulary.bosID, defaultBOS)
        eos = valid(vocabulary.eosID, defaultEOS)
        unknown = valid(vocabulary.unknownID, defaultUnknown)
        padding = valid(vocabulary.paddingID, nil)
        if isSentencePiece {
            encoder = .sentencePiece(SentencePieceEncoder(idsByText: idsByText, scores: vocabulary.scores,
                                                          unknownID: unknown))
        } else {
            let (preTokenizer, ignoreMerges) = try PreTokenizer.forName(vocabulary.preTokenizer,
                                                                        llamaCppTekken: llamaCppTekken)
            let bpe: BytePairEncoder
            if preTokenizer.stages == [.tekken] {
                bpe = try BytePairEncoder(rankedTokens: texts, mergeable: attributes.map { $0 == .normal })
            } else {
                guard !vocabulary.merges.isEmpty else { throw TokenizerError.missingMerges }
                bpe = try BytePairEncoder(tokens: texts, merges: vocabulary.merges, ignoreMerges: ignoreMerges)
            }
            encoder = .bytePair(bpe, preTokenizer)
        }
        addBOS = vocabulary.addBOS
        addEOS = vocabulary.addEOS
        addSpacePrefix = isSentencePiece && vocabulary.addSpacePrefix

        // Tokens found by their text; each becomes a control token (llama.cpp's load-time fix-ups).
        func find(_ candidates: [String]) -> Int32? {
            for text in candidates { if let id = idsByText[Array(text.utf8)] { return id } }
            return nil
        }
        func markControl(_ id: Int32?) {
            if let id { attributes[Int(id)].insert(.control) }
        }
        var endOfTurn = valid(vocabulary.endOfTurnID, nil)
        if endOfTurn == nil {
            endOfTurn = find(["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
                              "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"])
            markControl(endOfTurn)
        }
        eot = endOfTurn
        let endOfMessage = find(["<|eom_id|>"])
        markControl(endOfMessage)
        let fimPrefix = find(["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                              "<|code_prefix|>"])
        let fimSuffix = find(["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                              "<|code_suffix|>"])
        let fimMiddle = find(["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                              "<|code_middle|>"])
        let fimPad = find(["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"])
        let fimRepository = find(["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"])
        let fimSeparator = find(["<|file_sep|>"])
        for id in [fimPrefix, fimSuffix, fimMiddle, fimPad, fimRepository, fimSeparator] { markControl(id) }

        // End-of-generation tokens.
        var endOfGeneration = Set([fimPad, fimRepository, fimSeparator].compactMap { $0 })
        for text in ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
                     "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"] {
            if let id = idsByText[Array(text.utf8)] {
                endOfGeneration.insert(id)
                markControl(id)
            }
        }
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {  // gpt-oss: always rendered
            if let id = idsByText[Array(text.utf8)] { attributes[Int(id)] = .userDefined }
        }
        for id in [eos, eot, endOfMessage] { if let id { endOfGeneration.insert(id) } }
        if let end = idsByText[Array("<|end|>".utf8)], endOfGeneration.contains(end),
           let ret = idsByText[Array("<|return|>".utf8)], endOfGeneration.contains(ret),
           let call = idsByText[Array("<|call|>".utf8)], endOfGeneration.contains(call) {
            endOfGeneration.remove(end)  // o200k_harmony: <|end|> is not the end of generation
            attributes[Int(end)] = .userDefined
        }
        endOfGenerationIDs = endOfGeneration

        // Special tokens, longest first (ties by id; llama.cpp's std::sort leaves ties unspecified).
        specialTokens = (0..<count)
            .filter { !attributes[$0].isDisjoint(with: .special) }
            .map { (id: Int32($0), text: Array(texts[$0].utf8)) }
            .sorted { $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id }
        var all = [[Int]](repeating: [], count: 256)
        var alwaysParsed = all
        for (index, special) in specialTokens.enumerated() {
            guard let first = special.text.first else { continue }
            all[Int(first)].append(index)
            if attributes[Int(special.id)].isDisjoint(with: .hiddenUnlessSpecial) { alwaysParsed[Int(first)].append(index) }
        }
        specialTokensByFirstByte = (all, alwaysParsed)

        // Pieces.
        var pieceBytes: [UInt8] = []
        var pieceOffsets: [Int32] = [0]
        pieceOffsets.reserveCapacity(count + 1)
        for i in 0..<count {
            Tokenizer.appendPiece(text: texts[i], attributes: attributes[i], sentencePiece: isSentencePiece,
                                  to: &pieceBytes)
            pieceOffsets.append(Int32(pieceBytes.count))
        }
        self.pieceBytes = pieceBytes
        self.pieceOffsets = pieceOffsets
        self.tokenTexts = texts
        self.attributes = attributes
        self.idsByText = idsByText
    }

    // MARK: - Queries

    /// True if generation should stop at this token: eos, eot, and the tokens llama.cpp treats as end of
    /// generation by their text (`<|im_end|>`, `<|eot_id|>`, `<|endoftext|>`, `<end_of_turn>`, FIM
    /// pad/repo/file-separator tokens…).
    public func isEndOfGeneration(_ id: Int32) -> Bool {
        endOfGenerationIDs.contains(id)
    }

    /// The id of the token whose text is exactly `text` as stored in the vocabulary (e.g. `<|im_end|>` or
    /// Tekken's `[INST]`, or `Ġhello` for byte-level BPE, `▁hello` for SentencePiece).
    public func tokenID(for text: String) -> Int32? {
        idsByText[Array(text.utf8)]
    }

    /// The token's text as stored in the vocabulary (not decoded); nil for an out-of-range id.
    public func tokenText(_ id: Int32) -> String? {
        id >= 0 && Int(id) < vocabularySize ? tokenTexts[Int(id)] : nil
    }

    /// True for control tokens (`<|im_start|>`, `<s>`…).
    public func isControl(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < vocabularySize && attributes[Int(id)].contains(.control)
    }

    /// The bytes a token stands for (llama.cpp's `llama_token_to_piece` without stripping).
    ///
    /// Byte-level BPE undoes the GPT-2 byte map; SentencePiece turns `▁` into a space and `<0xXX>` into
    /// the byte. Control and unknown tokens give their text if `renderSpecial`, else nothing;
    /// user-defined tokens always give their text; unused and out-of-range ids give nothing.
    public func tokenBytes(_ id: Int32, renderSpecial: Bool = true) -> [UInt8] {
        guard id >= 0, Int(id) < vocabularySize else { return [] }
        if !renderSpecial && !attributes[Int(id)].isDisjoint(with: .hiddenUnlessSpecial) { return [] }
        return Array(pieceBytes[Int(pieceOffsets[Int(id)])..<Int(pieceOffsets[Int(id) + 1])])
    }

    private static func appendPiece(text: String, attributes: TokenAttributes, sentencePiece: Bool,
                                    to bytes: inout [UInt8]) {
        if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) {
            bytes.append(contentsOf: text.utf8)
        } else if attributes.contains(.normal) {
            if sentencePiece {
                let utf8 = Array(text.utf8)
                var k = 0
                while k < utf8.count {  // "▁" (E2 96 81) → " "
                    if k + 2 < utf8.count && utf8[k] == 0xE2 && utf8[k + 1] == 0x96 && utf8[k + 2] == 0x81 {
                        bytes.append(0x20)
                        k += 3
                    } else {
                        bytes.append(utf8[k])
                        k += 1
                    }
                }
            } else {
                for scalar in text.unicodeScalars {
                    if let byte = ByteLevelAlphabet.byte(for: scalar.value) {
                        bytes.append(byte)
                    } else {  // llama.cpp's llama_decode_text marker for a character outside the alphabet
                        bytes.append(contentsOf: "[UNK_BYTE_0x".utf8)
                        for byte in String(scalar).utf8 {
                            let hex = Array("0123456789abcdef".utf8)
                            bytes.append(hex[Int(byte >> 4)])
                            bytes.append(hex[Int(byte & 15)])
                        }
                        bytes.append(contentsOf: text.utf8)
                        bytes.append(UInt8(ascii: "]"))
                    }
                }
            }
        } else if attributes.contains(.byte) && sentencePiece {
            let utf8 = Array(text.utf8)
            if utf8.count >= 5, let byte = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16) {
                bytes.append(byte)
            }
        }
    }

    // MARK: - Encoding

    /// Token ids of `text`, as llama.cpp's `llama_tokenize(text, add_special, parse_special)`.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS as the vocabulary asks (`tokenizer.ggml.add_bos_token` / `add_eos_token`).
    ///   - parseSpecial: recognise control-token texts such as `<|im_start|>` in `text` as single tokens.
    ///     User-defined tokens are recognised either way.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        let fragments = bytes.isEmpty ? [] : splitSpecialTokens(bytes, parseSpecial: parseSpecial)
        if addSpecial && addBOS, let bos { output.append(bos) }
        switch encoder {
        case .bytePair(let bpe, let preTokenizer):
            var workspace = BytePairEncoder.Workspace()
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    encodeBytePair(bytes, range, bpe: bpe, preTokenizer: preTokenizer, workspace: &workspace,
                                   into: &output)
                }
            }
        case .sentencePiece(let spm):
            var previousIsSpecial = true  // the text start counts as after a special token
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    previousIsSpecial = true
                case .text(let range):
                    var text: [UInt8] = addSpacePrefix && previousIsSpecial ? [0x20] : []
                    text.append(contentsOf: bytes[range])
                    spm.encode(Self.escapingSpaces(text), into: &output)
                    previousIsSpecial = false
                }
            }
        }
        if addSpecial && addEOS, let eos { output.append(eos) }
        return output
    }

    private enum Fragment {
        case text(Range<Int>)
        case token(Int32)
    }

    /// llama.cpp's `tokenizer_st_partition`: for each special token (longest first) split every remaining
    /// text fragment at its occurrences. One pass first finds which of the special tokens that apply
    /// occur at all, so a vocabulary with many of them (Tekken reserves 1000) costs little more than one
    /// with a few.
    private func splitSpecialTokens(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        let candidates = parseSpecial ? specialTokensByFirstByte.all : specialTokensByFirstByte.alwaysParsed
        bytes.withUnsafeBufferPointer { haystack in
            var occurs = [Bool](repeating: false, count: specialTokens.count)
            for start in haystack.indices {
                for index in candidates[Int(haystack[start])] where !occurs[index] {
                    let needle = specialTokens[index].text
                    if start + needle.count <= haystack.count
                        && needle.indices.allSatisfy({ haystack[start + $0] == needle[$0] }) {
                        occurs[index] = true
                    }
                }
            }
            for (index, special) in specialTokens.enumerated() where occurs[index] {
                let needle = special.text
                var result: [Fragment] = []
                var changed = false
                for fragment in fragments {
                    guard case .text(let range) = fragment else {
                        result.append(fragment)
                        continue
                    }
                    var searchStart = range.lowerBound
                    var pendingStart = range.lowerBound
                    while let match = Self.find(needle, in: haystack, from: searchStart, to: range.upperBound) {
                        if match > pendingStart { result.append(.text(pendingStart..<match)) }
                        result.append(.token(special.id))
                        searchStart = match + needle.count
                        pendingStart = searchStart
                        changed = true
                    }
                    if pendingStart < range.upperBound { result.append(.text(pendingStart..<range.upperBound)) }
                }
                if changed { fragments = result }
            }
        }
        return fragments
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from start: Int,
                             to end: Int) -> Int? {
        let first = needle[0]
        let count = needle.count
        guard end - start >= count else { return nil }
        var i = start
        let last = end - count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < count && haystack[i + j] == needle[j] { j += 1 }
                if j == count { return i }
            }
            i += 1
        }
        return nil
    }

    private func encodeBytePair(_ bytes: [UInt8], _ range: Range<Int>, bpe: BytePairEncoder, preTokenizer: PreTokenizer,
                                workspace: inout BytePairEncoder.Workspace, into output: inout [Int32]) {
        // Code points of the fragment (valid UTF-8: it comes from a String and special tokens split at
        // character boundaries).
        var codepoints: [UInt32] = []
        codepoints.reserveCapacity(range.count)
        var utf8Lengths: [UInt8] = []
        utf8Lengths.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let lead = bytes[i]
            let length = SentencePieceEncoder.utf8SequenceLength(lead)
            var value: UInt32
            switch length {
            case 2: value = UInt32(lead & 0x1F)
            case 3: value = UInt32(lead & 0x0F)
            case 4: value = UInt32(lead & 0x07)
            default: value = UInt32(lead)
            }
            for k in 1..<max(length, 1) where i + k < range.upperBound {
                value = value << 6 | UInt32(bytes[i + k] & 0x3F)
            }
            codepoints.append(value)
            utf8Lengths.append(UInt8(length))
            i += length
        }
        let words = preTokenizer.split(codepoints)
        bytes.withUnsafeBufferPointer { buffer in
            var byteStart = range.lowerBound
            var codepointIndex = 0
            for wordLength in words {
                var byteLength = 0
                for k in codepointIndex..<(codepointIndex + wordLength) { byteLength += Int(utf8Lengths[k]) }
                codepointIndex += wordLength
                let word = UnsafeBufferPointer(rebasing: buffer[byteStart..<(byteStart + byteLength)])
                bpe.encodeWord(word, workspace: &workspace, into: &output)
                byteStart += byteLength
            }
        }
    }

    /// SentencePiece sees spaces as `▁` (U+2581).
    private static func escapingSpaces(_ text: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(text.count + text.count / 4)
        for byte in text {
            if byte == 0x20 { result.append(contentsOf: [0xE2, 0x96, 0x81]) } else { result.append(byte) }
        }
        return result
    }

    // MARK: - Decoding

    /// The text of `ids`: their bytes concatenated and decoded as UTF-8 (invalid sequences become U+FFFD).
    ///
    /// With a SentencePiece vocabulary that adds a space prefix, the leading space of the first text token
    /// (after an optional BOS) is removed, so `decode(encode(text))` gives `text` back.
    /// No "clean-up" of spaces before punctuation is done.
    public func decode(_ ids: [Int32], renderSpecial: Bool = true) -> String {
        var decoder = StreamingDecoder(tokenizer: self, renderSpecial: renderSpecial)
        var bytes: [UInt8] = []
        for id in ids { bytes.append(contentsOf: decoder.bytesToAppend(for: id)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A decoder that turns ids into text one at a time (see ``StreamingDecoder``).
    public func makeStreamingDecoder(renderSpecial: Bool = true) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, renderSpecial: renderSpecial)
    }

    /// Whether decoding should drop the first space of this token's piece (see ``decode(_:renderSpecial:)``):
    /// true only for SentencePiece with a space prefix.
    var stripsLeadingSpace: Bool { addSpacePrefix }
}
