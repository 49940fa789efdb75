import XCTest
@testable import MagiTokenizer

/// Word splits of the pre-tokenizers, worked out by hand from llama.cpp's regexes.
final class PreTokenizerTests: XCTestCase {
    func words(_ name: String?, _ text: String, llamaCppTekken: Bool = false) throws -> [String] {
        let (preTokenizer, _) = try PreTokenizer.forName(name, llamaCppTekken: llamaCppTekken)
        let scalars = Array(text.unicodeScalars)
        var result: [String] = []
        var start = 0
        for length in preTokenizer.split(scalars.map(\.value)) {
            var word = String.UnicodeScalarView()
            word.append(contentsOf: scalars[start..<(start + length)])
            result.append(String(word))
            start += length
        }
        XCTAssertEqual(start, scalars.count)
        return result
    }

    func testGPT2AndSmolLM() throws {
        XCTAssertEqual(try words("gpt-2", "Hello, world!  It's 2024\n"),
                       ["Hello", ",", " world", "!", " ", " It", "'s", " 2024", "\n"])
        // SmolLM isolates every digit first; whitespace before a digit stays whole.
        XCTAssertEqual(try words("smollm", "a   12 x"), ["a", "   ", "1", "2", " x"])
        XCTAssertEqual(try words("smollm", "THEY'RE"), ["THEY", "'", "RE"])
    }

    func testLlama3() throws {
        XCTAssertEqual(try words("llama-bpe", "Hello WORLD's 1234567 ok?!\n\n  end  "),
                       ["Hello", " WORLD", "'s", " ", "123", "456", "7", " ok", "?!\n\n", " ", " end", "  "])
        XCTAssertEqual(try words("llama3", "x\r\n\r\ny"), ["x", "\r\n\r\n", "y"])
    }

    func testQwen2SplitsSingleDigits() throws {
        XCTAssertEqual(try words("qwen2", "v2.10 日本語"), ["v", "2", ".", "1", "0", " 日本語"])
    }

    func testTekken() throws {
        for llamaCpp in [false, true] {
            XCTAssertEqual(try words("tekken", "HelloWorld HTTPServer iPhone 42 a/b//\n", llamaCppTekken: llamaCpp),
                           ["Hello", "World", " HTTPServer", " i", "Phone", " ", "4", "2", " a", "/b", "//\n"])
        }
    }

    /// The exact pattern keeps combining marks inside words and knows non-ASCII case; llama.cpp's
    /// approximation does neither.
    func testTekkenExactClassesVersusLlamaCpp() throws {
        XCTAssertEqual(try words("tekken", "नमस्ते दुनिया"), ["नमस्ते", " दुनिया"])
        XCTAssertEqual(try words("tekken", "नमस्ते", llamaCppTekken: true), ["नमस", "्त", "े"])
        XCTAssertEqual(try words("tekken", "ПриветМир ΣΊΣΥΦΟΣ"), ["Привет", "Мир", " ΣΊΣΥΦΟΣ"])
        XCTAssertEqual(try words("tekken", "ПриветМир", llamaCppTekken: true), ["ПриветМир"])
        XCTAssertEqual(try words("tekken", "e\u{301}te\u{301} \u{301}x"), ["e\u{301}te\u{301}", " \u{301}x"])
        XCTAssertEqual(try words("tekken", "ǅungla ʰello"), ["ǅungla", " ʰello"])
        // Unicode 16.0 is known (as in tiktoken 0.14), 17.0 is not: U+11B60 is then not a mark.
        XCTAssertEqual(try words("tekken", "a\u{897} a\u{11B60}"), ["a\u{897}", " a", "\u{11B60}"])
        XCTAssertEqual(try words("tekken", "x\u{a0}\u{3000}y  \n\n z\t"), ["x", "\u{a0}", "\u{3000}y", "  \n\n", " z", "\t"])
    }

    func testDefaultRegexes() throws {
        // [\p{P}\$\+<=>\^~\|]+ first, then GPT-2, \p{N}+, [0-9]{3}
        XCTAssertEqual(try words(nil, "a+=b 12345"), ["a", "+=", "b", " ", "123", "45"])
    }

    func testNamesLlamaCppRejects() {
        XCTAssertThrowsError(try PreTokenizer.forName("no-such-pre")) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownPreTokenizer("no-such-pre"))
        }
        XCTAssertThrowsError(try PreTokenizer.forName("kimi-k2")) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedPreTokenizer("kimi-k2"))
        }
    }
}
