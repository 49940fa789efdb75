import Foundation
@testable import MagiEngine
import MagiSchema
import MagiTokenizer
import Testing

/// The constraint in the sampler chain: lazy triggering, and greedy generation with SmolLM2 under JSON
/// schemas, whose output must parse and validate.
@Suite(.serialized) struct GrammarGenerationTests {
    @Test func lazyConstraintWaitsForItsTriggerTextSplitOverTokens() throws {
        // 0 "<tool", 1 "_call>", 2 "{", 3 "}", 4 "hi", 5 end of generation, 6 "_call>{"
        let pieces: [[UInt8]] = ["<tool", "_call>", "{", "}", "hi", "", "_call>{"].map { Array($0.utf8) }
        let trie = TokenTrie(pieces: pieces, endOfGenerationTokens: [5])
        var stage = GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= "{" "}""#), trie: trie,
                                      lazyUntil: GrammarTrigger(texts: ["<tool_call>"]))
        func allowed() -> [Int32] {
            var c = TokenCandidates()
            [Float](repeating: 0, count: pieces.count).withUnsafeBufferPointer { c.load($0) }
            stage.apply(to: &c)
            return c.ids.filter { c.logits[Int($0)].isFinite }
        }
        #expect(allowed() == [0, 1, 2, 3, 4, 5, 6]) // inactive: untouched
        stage.accept(4)
        stage.accept(0)
        #expect(!stage.isActive)
        stage.accept(1)
        #expect(stage.isActive)
        #expect(allowed() == [2])
        stage.accept(2)
        #expect(allowed() == [3])
        stage.accept(3)
        #expect(!stage.isActive) // complete: waits for the next trigger
        stage.accept(0)
        stage.accept(6) // the trigger's token also carries the first byte of the grammar's text
        #expect(stage.isActive && allowed() == [3])
        stage.reset()
        #expect(!stage.isActive)
        var byToken = GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= "{" "}""#), trie: trie,
                                        lazyUntil: GrammarTrigger(tokens: [4]))
        byToken.accept(4)
        #expect(byToken.isActive)
    }

    // MARK: - With SmolLM2

    static let schemas: [(name: String, schema: String, prompt: String)] = [
        ("person", #"""
         {"type": "object", "properties": {"name": {"type": "string", "maxLength": 24}, "age": {"type": "integer"},
          "languages": {"type": "array", "items": {"type": "string", "maxLength": 16}, "maxItems": 3}},
          "required": ["name", "age", "languages"], "additionalProperties": false}
         """#, "Describe Ada Lovelace as a JSON object with her name, age and languages."),
        ("colors", #"{"type": "array", "items": {"enum": ["red", "green", "blue"]}, "minItems": 2, "maxItems": 3}"#,
         "List two primary colors as a JSON array."),
        ("answer", #"""
         {"type": "object", "properties": {"city": {"type": "string", "pattern": "^[A-Z][a-z]{1,15}$"},
          "capital": {"type": "boolean"}, "country": {"$ref": "#/$defs/country"}},
          "required": ["city", "capital", "country"], "$defs": {"country": {"enum": ["France", "Germany", "Italy"]}}}
         """#, "What is the capital of France? Answer in JSON."),
    ]

    static func prompt(_ text: String, _ tokenizer: Tokenizer) -> [Int32] {
        tokenizer.encode("<|im_start|>system\nYou answer in JSON.<|im_end|>\n<|im_start|>user\n\(text)<|im_end|>\n<|im_start|>assistant\n",
                         addSpecial: false)
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func greedyGenerationUnderASchemaGivesValidJSON() throws {
        let tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: GGUFFile(path: TestEnvironment.modelPath)))
        let trie = TokenTrie(tokenizer: tokenizer)
        let session = InferenceSession(model: try LlamaModel(path: TestEnvironment.modelPath), contextSize: 512, threads: 2)
        let stops = Set((0..<Int32(tokenizer.vocabularySize)).filter(tokenizer.isEndOfGeneration))
        for (name, schema, question) in Self.schemas {
            var sampler = Sampler(.greedy)
            sampler.prepend(GrammarConstraint(grammar: try JSONSchemaGrammar(schema: schema).grammar(), trie: trie))
            var out: [Int32] = []
            let summary = try session.runGeneration(GenerationRequest(prompt: Self.prompt(question, tokenizer), sampling: .greedy,
                                                                      maxTokens: 160, stopTokens: stops),
                                                    sampler: sampler) { out.append($0) }
            let text = tokenizer.decode(out)
            print("schema \(name): \(text.debugDescription) (\(summary.generatedTokens) tokens, \(String(format: "%.1f", summary.generationTokensPerSecond)) tok/s)")
            #expect(summary.reason == .endOfGeneration, "\(name) did not finish: \(text)")
            let value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            switch name {
            case "person":
                let object = try #require(value as? [String: Any])
                #expect(Set(object.keys) == ["name", "age", "languages"])
                #expect((object["name"] as? String).map { $0.count <= 24 } == true)
                #expect(object["age"] is Int)
                #expect((object["languages"] as? [String]).map { $0.count <= 3 && $0.allSatisfy { $0.count <= 16 } } == true)
            case "colors":
                let array = try #require(value as? [String])
                #expect((2...3).contains(array.count) && array.allSatisfy(["red", "green", "blue"].contains))
            default:
                let object = try #require(value as? [String: Any])
                let city = try #require(object["city"] as? String)
                #expect(city.range(of: "^[A-Z][a-z]{1,15}$", options: .regularExpression) != nil)
                #expect(object["capital"] is Bool)
                #expect(["France", "Germany", "Italy"].contains(object["country"] as? String ?? ""))
            }
        }
    }

    /// Checking the best candidates one by one before the next stage (greedy, top-k) picks exactly the tokens
    /// the full vocabulary mask picks: the same tokens, greedy and sampled at temperature 0.8 under three seeds.
    @Test(.enabled(if: TestEnvironment.hasModel)) func checkingTheBestCandidatesFirstSamplesAsTheFullMaskDoes() throws {
        let tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: GGUFFile(path: TestEnvironment.modelPath)))
        let trie = TokenTrie(tokenizer: tokenizer)
        let session = InferenceSession(model: try LlamaModel(path: TestEnvironment.modelPath), contextSize: 512, threads: 2)
        let stops = Set((0..<Int32(tokenizer.vocabularySize)).filter(tokenizer.isEndOfGeneration))
        var settings: [SamplingParameters] = [.greedy]
        for seed: UInt64 in [1, 2, 3] {
            var p = SamplingParameters()
            p.temperature = 0.8
            p.seed = seed
            settings.append(p)
        }
        for (name, schema, question) in Self.schemas {
            let grammar = try JSONSchemaGrammar(schema: schema).grammar()
            for p in settings {
                let request = GenerationRequest(prompt: Self.prompt(question, tokenizer), sampling: p, maxTokens: 96, stopTokens: stops)
                var shortcut = Sampler(p)
                shortcut.prepend(GrammarConstraint(grammar: grammar, trie: trie))
                let fullMask = Sampler(stages: [GrammarConstraint(grammar: grammar, trie: trie)] + Sampler(p).stages)
                var outputs: [[Int32]] = []
                for sampler in [shortcut, fullMask] {
                    var out: [Int32] = []
                    session.reset()
                    _ = try session.runGeneration(request, sampler: sampler) { out.append($0) }
                    outputs.append(out)
                }
                #expect(outputs[0] == outputs[1], "\(name), temperature \(p.temperature), seed \(p.seed): \(tokenizer.decode(outputs[0]).debugDescription) vs \(tokenizer.decode(outputs[1]).debugDescription)")
            }
        }
    }

    /// A lazy constraint that never triggers leaves greedy generation exactly as it was, at no measurable cost.
    @Test(.enabled(if: TestEnvironment.hasModel)) func anUntriggeredConstraintChangesNothing() throws {
        let tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: GGUFFile(path: TestEnvironment.modelPath)))
        let trie = TokenTrie(tokenizer: tokenizer)
        let session = InferenceSession(model: try LlamaModel(path: TestEnvironment.modelPath), contextSize: 512, threads: 2)
        let request = GenerationRequest(prompt: Self.prompt("Say hello.", tokenizer), sampling: .greedy, maxTokens: 24)
        var plain: [Int32] = []
        session.reset() // both runs evaluate the whole prompt, so their logits are the same
        _ = try session.runGeneration(request, sampler: Sampler(.greedy)) { plain.append($0) }
        var sampler = Sampler(.greedy)
        var stage = GrammarConstraint(grammar: try Grammar(gbnf: GrammarFixtures.json), trie: trie,
                                      lazyUntil: GrammarTrigger(texts: ["<tool_call>"], tokenizer: tokenizer))
        sampler.prepend(stage)
        var constrained: [Int32] = []
        session.reset()
        _ = try session.runGeneration(request, sampler: sampler) { constrained.append($0) }
        #expect(constrained == plain)

        var logits = [Float](repeating: 0, count: trie.vocabularySize)
        for i in logits.indices { logits[i] = Float(i % 97) }
        var c = TokenCandidates()
        logits.withUnsafeBufferPointer { c.load($0) }
        for _ in 0..<1000 {
            stage.apply(to: &c)
            stage.accept(42)
        }
        // An inactive constraint leaves the logits alone (its cost is magi bench's business).
        #expect(c.logits == logits)
    }
}
