import XCTest
@testable import MagiTokenizer

/// Construction errors, byte-level pieces and the streaming decoder's UTF-8 hold-back on a small
/// hand-made byte-level BPE vocabulary.
final class TokenizerBasicsTests: XCTestCase {
    /// All 256 byte tokens plus a few merges and special tokens.
    func byteLevelVocabulary(merges: [String] = ["h e", "l l", "he ll", "hell o", "Ġ w"]) -> TokenizerVocabulary {
        var tokens = (0..<256).map { ByteLevelAlphabet.text(forBytes: [UInt8($0)]) }
        tokens += ["he", "ll", "hell", "hello", "Ġw", "<|im_start|>", "<|im_end|>", "<tool>"]
        var types = [Int32](repeating: 1, count: tokens.count)
        types[tokens.count - 3] = 3
        types[tokens.count - 2] = 3
        types[tokens.count - 1] = 4
        return TokenizerVocabulary(model: "gpt2", preTokenizer: "gpt-2", tokens: tokens, tokenTypes: types,
                                   merges: merges, bosID: 261, eosID: 262)
    }

    func testByteLevelEncodeDecode() throws {
        let tokenizer = try Tokenizer(vocabulary: byteLevelVocabulary())
        XCTAssertEqual(tokenizer.encode("hello"), [259])
        XCTAssertEqual(tokenizer.encode("hello world"), [259, 260, 111, 114, 108, 100])
        XCTAssertEqual(tokenizer.encode("<|im_start|>hello<|im_end|>"), [261, 259, 262])
        XCTAssertEqual(tokenizer.encode("<|im_start|>hello", parseSpecial: false).first, 60)  // "<"
        XCTAssertEqual(tokenizer.encode("a<tool>b", parseSpecial: false), [97, 263, 98])  // user-defined: always
        XCTAssertEqual(tokenizer.tokenBytes(260), [0x20, 0x77])  // "Ġw" → " w"
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("héllo\n😀 wörld")), "héllo\n😀 wörld")
        XCTAssertTrue(tokenizer.isEndOfGeneration(262))  // <|im_end|> by text, eos
        XCTAssertEqual(tokenizer.eot, 262)
        XCTAssertTrue(tokenizer.isControl(261))
        XCTAssertEqual(tokenizer.tokenID(for: "Ġw"), 260)
    }

    func testConstructionErrors() {
        var vocabulary = byteLevelVocabulary()
        vocabulary.model = "bert"
        XCTAssertThrowsError(try Tokenizer(vocabulary: vocabulary)) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownModel("bert"))
            XCTAssertTrue("\(error)".contains("gpt2"))
        }
        XCTAssertThrowsError(try Tokenizer(vocabulary: byteLevelVocabulary(merges: ["h e", "ll"]))) { error in
            XCTAssertEqual(error as? TokenizerError, .malformedMerge(index: 1, merge: "ll"))
        }
        XCTAssertThrowsError(try Tokenizer(vocabulary: byteLevelVocabulary(merges: []))) { error in
            XCTAssertEqual(error as? TokenizerError, .missingMerges)
        }
        vocabulary = byteLevelVocabulary()
        vocabulary.preTokenizer = "whatever"
        XCTAssertThrowsError(try Tokenizer(vocabulary: vocabulary)) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownPreTokenizer("whatever"))
        }
        vocabulary = byteLevelVocabulary()
        vocabulary.tokenTypes.removeLast()
        XCTAssertThrowsError(try Tokenizer(vocabulary: vocabulary))
    }

    func testStreamingDecoderHoldsBackSplitCharacters() throws {
        let tokenizer = try Tokenizer(vocabulary: byteLevelVocabulary())
        // Every non-ASCII byte is its own token here, so "日本😀" arrives one byte at a time.
        let ids = tokenizer.encode("日本😀!")
        XCTAssertEqual(ids.count, 3 + 3 + 4 + 1)
        var decoder = tokenizer.makeStreamingDecoder()
        let chunks = ids.map { decoder.append($0) }
        XCTAssertEqual(chunks, ["", "", "日", "", "", "本", "", "", "", "😀", "!"])
        XCTAssertEqual(decoder.finish(), "")
        // An incomplete character at the end becomes U+FFFD, as decode does.
        var truncated = tokenizer.makeStreamingDecoder()
        XCTAssertEqual(truncated.append(ids[0]), "")
        XCTAssertEqual(truncated.append(ids[1]), "")
        XCTAssertEqual(truncated.finish(), "\u{FFFD}")
        XCTAssertEqual(tokenizer.decode(Array(ids[0..<2])), "\u{FFFD}")
        // Bytes that cannot start a character are not held back.
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x41, 0xE0, 0x80]), 3)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x41, 0xE0, 0xA0]), 1)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x41, 0xF4, 0x90]), 3)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0xF0, 0x9F, 0x98]), 0)
    }

    func testLlamaCppDefaults() {
        XCTAssertEqual(TokenizerVocabulary.llamaCppDefaults(model: "llama", preTokenizer: nil).addSpacePrefix, true)
        XCTAssertEqual(TokenizerVocabulary.llamaCppDefaults(model: "gpt2", preTokenizer: "llama-bpe").addBOS, true)
        XCTAssertEqual(TokenizerVocabulary.llamaCppDefaults(model: "gpt2", preTokenizer: "smollm").addBOS, false)
    }
}
