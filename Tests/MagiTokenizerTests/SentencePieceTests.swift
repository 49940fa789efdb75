import Foundation
import XCTest
@testable import MagiTokenizer

/// SentencePiece (`llama` model) on a tiny hand-made vocabulary, checked against hand-computed merges
/// and against llama.cpp's llama-tokenize on the same vocabulary written as a GGUF
/// (Fixtures/spm-tiny-reference.json, made by scripts/gen-tokenizer-reference.py).
final class SentencePieceTests: XCTestCase {
    struct Fixture: Decodable {
        struct Vocabulary: Decodable {
            var model: String
            var tokens: [String]
            var scores: [Float]
            var token_types: [Int32]
            var bos: Int32
            var eos: Int32
            var unk: Int32
            var add_bos: Bool
            var add_eos: Bool
            var add_space_prefix: Bool
        }
        struct Entry: Decodable {
            var text: String
            var parse_special: Bool
            var ids: [Int32]
        }
        var vocabulary: Vocabulary
        var entries: [Entry]
    }

    func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/spm-tiny-reference.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func tokenizer(_ fixture: Fixture) throws -> Tokenizer {
        let v = fixture.vocabulary
        return try Tokenizer(vocabulary: TokenizerVocabulary(
            model: v.model, tokens: v.tokens, scores: v.scores, tokenTypes: v.token_types, bosID: v.bos,
            eosID: v.eos, unknownID: v.unk, addBOS: v.add_bos, addEOS: v.add_eos, addSpacePrefix: v.add_space_prefix))
    }

    func testIdsMatchLlamaCpp() throws {
        let fixture = try fixture()
        let tokenizer = try tokenizer(fixture)
        XCTAssertTrue(tokenizer.isSentencePiece)
        for entry in fixture.entries {
            XCTAssertEqual(tokenizer.encode(entry.text, parseSpecial: entry.parse_special), entry.ids,
                           "text \(entry.text.debugDescription)")
            if !entry.text.contains("<") {  // after a special token llama.cpp adds a space prefix again
                XCTAssertEqual(tokenizer.decode(entry.ids, renderSpecial: false), entry.text)
            }
        }
    }

    func testHandComputedMerges() throws {
        let tokenizer = try tokenizer(fixture())
        func id(_ text: String) -> Int32 { tokenizer.tokenID(for: text)! }
        // "hello world" → "▁hello▁world". Pairs that are tokens, best score first:
        // or(-2) → ll(-4) → llo(-3, new) → he(-5) → hello(-1, new) → ▁hello(-0.5, new) → wor(-6, new)
        // → ▁w(-7, stale) → ld(-8). "world" is not a token, so: ▁hello ▁ wor ld.
        XCTAssertEqual(tokenizer.encode("hello world"), [1, id("▁hello"), id("▁"), id("wor"), id("ld")])
        // Equal scores: the leftmost pair merges first ("▁aaa" → ▁ aa a).
        XCTAssertEqual(tokenizer.encode("aaa", addSpecial: false), [id("▁"), id("aa"), id("a")])
        // Byte fallback: "i" and the emoji are not pieces.
        XCTAssertEqual(tokenizer.encode("hi😀", addSpecial: false),
                       [id("▁"), id("h"), id("<0x69>"), id("<0xF0>"), id("<0x9F>"), id("<0x98>"), id("<0x80>")])
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("hi😀")), "<s>hi😀")
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("hi😀"), renderSpecial: false), "hi😀")
        // Pieces.
        XCTAssertEqual(tokenizer.tokenBytes(id("▁hello")), Array(" hello".utf8))
        XCTAssertEqual(tokenizer.tokenBytes(id("<0x0A>")), [0x0A])
        XCTAssertEqual(tokenizer.tokenBytes(1), Array("<s>".utf8))
        XCTAssertEqual(tokenizer.tokenBytes(1, renderSpecial: false), [])
        XCTAssertEqual(tokenizer.tokenBytes(id("<|user|>"), renderSpecial: false), Array("<|user|>".utf8))
        XCTAssertTrue(tokenizer.isEndOfGeneration(2))
        XCTAssertFalse(tokenizer.isEndOfGeneration(1))
    }

    func testStreamingMatchesDecode() throws {
        let tokenizer = try tokenizer(fixture())
        let ids = tokenizer.encode("héllo wörld hi😀")
        var decoder = tokenizer.makeStreamingDecoder(renderSpecial: false)
        var text = ""
        for id in ids { text += decoder.append(id) }
        text += decoder.finish()
        XCTAssertEqual(text, "héllo wörld hi😀")
        XCTAssertEqual(text, tokenizer.decode(ids, renderSpecial: false))
    }
}
