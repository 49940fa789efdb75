import Foundation
import MagiEngine
import Testing
@testable import MagiTokenizer

/// llama.cpp's own tokenizer test (test-tokenizer-0): the vocabularies it ships in `models/`
/// (`ggml-vocab-NAME.gguf`, with texts in `.inp` and the ids Hugging Face's tokenizer gives in
/// `.out`), taken from llama-cpp-python 0.3.36's sdist by scripts/gen-test-fixtures and read with the
/// product's GGUF reader. Ids without BOS and without parsing special tokens, as that test encodes.
@Suite struct LlamaCppVocabularyTests {
    static var folder: String {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        return (ProcessInfo.processInfo.environment["MAGI_FIXTURES"] ?? repository + "/.build/fixtures") + "/ggml-vocab"
    }

    /// The vocabularies of the families magi runs (SentencePiece and byte-level BPE with the
    /// pre-tokenizers it knows).
    static let supported = ["llama-spm", "llama-bpe", "phi-3", "qwen2", "deepseek-llm", "deepseek-coder", "falcon",
                            "gpt-2", "mpt", "refact", "starcoder", "command-r"]
    /// The others (WordPiece, Gemma 4's, Qwen 3.5's pre-tokenizer) are refused with one line.
    static let refused = ["bert-bge", "gemma-4", "qwen35"]
    static var available: Bool {
        FileManager.default.fileExists(atPath: folder) || ProcessInfo.processInfo.environment["CI"] != nil
    }

    /// The texts of `.inp` and the ids of `.out`, pair by pair.
    static func cases(_ name: String) throws -> [(text: String, ids: [Int32])] {
        let base = folder + "/ggml-vocab-\(name).gguf"
        let input = try String(contentsOfFile: base + ".inp", encoding: .utf8)
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        let lines = try String(contentsOfFile: base + ".out", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let ids = lines.prefix(texts.count).map { $0.split(separator: " ").compactMap { Int32($0) } }
        return Array(zip(texts, ids))
    }

    @Test(.enabled(if: available), arguments: supported) func idsMatchLlamaCppsReference(name: String) throws {
        let file = try GGUFFile(path: Self.folder + "/ggml-vocab-\(name).gguf")
        let tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: file))
        let cases = try Self.cases(name)
        #expect(cases.count >= 40)
        var wrong = 0
        for (text, expected) in cases {
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            if ids != expected {
                wrong += 1
                Issue.record("\(name): \(text.debugDescription.prefix(60)): got \(ids.prefix(24)), expected \(expected.prefix(24))")
            }
        }
        #expect(wrong == 0, "\(wrong) of \(cases.count) texts differ")
    }

    @Test(.enabled(if: available), arguments: refused) func otherVocabulariesAreRefusedInOneLine(name: String) throws {
        let file = try GGUFFile(path: Self.folder + "/ggml-vocab-\(name).gguf")
        #expect(throws: (any Error).self) { try Tokenizer(vocabulary: TokenizerVocabulary(gguf: file)) }
        do { _ = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: file)) } catch {
            #expect(!"\(error)".isEmpty && !"\(error)".contains("\n"), "\(error)")
        }
    }
}
