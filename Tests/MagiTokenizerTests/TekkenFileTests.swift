import Foundation
import XCTest
@testable import MagiTokenizer

/// tekken.json reading, tiktoken-style merging and the exact Tekken pattern on small hand-made inputs
/// (the expected ids were computed with tiktoken 0.14 on the same vocabulary).
final class TekkenFileTests: XCTestCase {
    /// A tekken.json with the 256 bytes and a few merged tokens, 20 special ids.
    func tekkenJSON(version: String = "v3", pattern: String = TekkenPattern.source,
                    specialTokens: String? = nil, extra: [String] = ["aa", "aaa", "ab", "aab", "aaaa", " a"]) -> Data {
        var vocab: [String] = []
        let tokens = (0..<256).map { [UInt8($0)] } + extra.map { Array($0.utf8) }
        for (rank, bytes) in tokens.enumerated() {
            vocab.append(#"{"rank": \#(rank), "token_bytes": "\#(Data(bytes).base64EncodedString())", "token_str": null}"#)
        }
        let escapedPattern = pattern.replacingOccurrences(of: "\\", with: "\\\\")
        let specials = specialTokens.map { #", "special_tokens": \#($0)"# } ?? ""
        return Data(("""
            {"config": {"pattern": "\(escapedPattern)", "num_vocab_tokens": \(tokens.count),
              "default_vocab_size": \(tokens.count + 20), "default_num_special_tokens": 20, "version": "\(version)"},
             "vocab": [\(vocab.joined(separator: ",\n"))]\(specials), "image": {"size": [1, 2.5e1, true, null]}}
            """).utf8)
    }

    func testRankMergingMatchesTiktoken() throws {
        let tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(tekkenJSON: tekkenJSON()))
        func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecial: false, parseSpecial: false) }
        XCTAssertEqual(encode("aaaaab aaab"), [256, 257, 98, 32, 257, 98].map { $0 + 20 })
        XCTAssertEqual(encode("aaaaaaa"), [260, 257].map { $0 + 20 })
        XCTAssertEqual(encode(" aaaaa"), [32, 256, 257].map { $0 + 20 })
        XCTAssertEqual(tokenizer.encode("a"), [1, 97 + 20])
        XCTAssertEqual(tokenizer.tokenID(for: "[TOOL_CONTENT]"), 19)
        XCTAssertEqual(tokenizer.decode(encode("aaab é")), "aaab é")
    }

    func testSpecialTokenLists() throws {
        let list = #"[{"rank": 0, "token_str": "<unk>", "is_control": true}, {"rank": 1, "token_str": "<s>", "is_control": true}, {"rank": 2, "token_str": "</s>", "is_control": true}, {"rank": 5, "token_str": "[TH\u0049NK]", "is_control": true}]"#
        var vocabulary = try TokenizerVocabulary(tekkenJSON: tekkenJSON(version: "v13", specialTokens: list))
        XCTAssertEqual(vocabulary.tokens[5], "[THINK]")
        XCTAssertEqual(vocabulary.tokens[3], "<SPECIAL_3>")
        XCTAssertEqual(vocabulary.tekkenVersion, "v13")
        XCTAssertEqual(vocabulary.bosID, 1)
        XCTAssertNil(vocabulary.paddingID)
        // A v13 file without a list is refused unless a table is given, as mistral-common refuses it.
        XCTAssertThrowsError(try TokenizerVocabulary(tekkenJSON: tekkenJSON(version: "v13"), source: "x.json")) { error in
            XCTAssertEqual(error as? TokenizerError, .missingTekkenSpecialTokens(path: "x.json", version: "v13"))
            XCTAssertTrue("\(error)".contains("magistralSmall12"))
        }
        vocabulary = try TokenizerVocabulary(tekkenJSON: tekkenJSON(version: "v13"),
                                             specialTokens: Array(TekkenSpecialToken.magistralSmall12.prefix(19)))
        XCTAssertEqual(vocabulary.tokens[17], "[SYSTEM_PROMPT]")
    }

    func testMalformedFiles() {
        func reason(_ data: Data) -> String {
            do {
                _ = try TokenizerVocabulary(tekkenJSON: data, source: "t.json")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(reason(tekkenJSON(pattern: ".")).contains("config.pattern"))
        XCTAssertTrue(reason(tekkenJSON(version: "3")).contains("config.version"))
        XCTAssertTrue(reason(Data("{\"config\": [".utf8)).contains("invalid JSON at byte"))
        let tooLarge = String(decoding: tekkenJSON(), as: UTF8.self)
            .replacingOccurrences(of: "\"default_vocab_size\": 282", with: "\"default_vocab_size\": 999")
        XCTAssertTrue(reason(Data(tooLarge.utf8)).contains("default_vocab_size 999"))
        XCTAssertTrue(reason(Data(#"{"config": {}, "vocab": [{"rank": 1, "token_bytes": "AA=="}]}"#.utf8))
            .contains("vocab entry 0"))
        XCTAssertThrowsError(try TokenizerVocabulary(tekkenFile: "/nonexistent/tekken.json")) { error in
            XCTAssertTrue("\(error)".contains("cannot read it"))
        }
    }

    func testBase64() {
        XCTAssertEqual(TokenizerVocabulary.base64Decoded(ArraySlice("SGVsbG8=".utf8)), Array("Hello".utf8))
        XCTAssertEqual(TokenizerVocabulary.base64Decoded(ArraySlice("4pyT".utf8)), [0xE2, 0x9C, 0x93])
        XCTAssertNil(TokenizerVocabulary.base64Decoded(ArraySlice("a*b".utf8)))
    }
}
