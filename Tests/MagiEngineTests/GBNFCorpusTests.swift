import Foundation
@testable import MagiEngine
import MagiJSON
import Testing

/// Hand-written GBNF grammars, each with the same language written for Lark (Fixtures/gbnf/NAME.gbnf and
/// NAME.lark): what SmolLM2 samples under the GBNF grammar at temperature 0.8 must be a sentence for
/// Lark's Earley parser, an implementation independent of magi's.
@Suite(.serialized) struct GBNFCorpusTests {
    struct Entry {
        let name: String
        let gbnf: String
        /// From the grammar's first line, `# prompt: ...`.
        let prompt: String
        var lark: String { CorpusOracle.fixtures + "/gbnf/" + name + ".lark" }
    }

    static let seeds: [UInt64] = [1, 2, 3]
    static let maxTokens = 160

    static let corpus: [Entry] = {
        let folder = CorpusOracle.fixtures + "/gbnf"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".gbnf") }.sorted()
        return files.map { file in
            let text = (try? String(contentsOfFile: folder + "/" + file, encoding: .utf8)) ?? ""
            let first = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
            let prompt = first.hasPrefix("# prompt: ") ? String(first.dropFirst("# prompt: ".count)) : ""
            return Entry(name: String(file.dropLast(5)), gbnf: text, prompt: prompt)
        }
    }()

    /// Texts each grammar accepts and rejects, so neither side is trivially permissive: magi's matcher and
    /// Lark must agree on them.
    static let samples: [String: (accept: [String], reject: [String])] = [
        "arithmetic": (["(3 + 5) * 3", "24", "-1.5*(2-3)", "((1))"], ["1 +", "(1", "1 ++ 2", "1  + 2", "2 ^ 3"]),
        "bullet-list": (["- Apple\n- Banana\n- Cherry\n"], ["- apple\n", "* Apple\n", "- Apple"]),
        "csv-line": (["Ada,London,36", "\"Lovelace, Ada\",London,36", "a,\"x\"\"y\",c"], ["a,b", "\"a,b", "a,b,c,d,e,f"]),
        "date-list": (["2024-01-01", "2024-01-01, 2024-12-25, 2024-07-04"], ["2024-13-01", "2024-1-01", "2024-01-01,2024-01-02"]),
        "guillemet-quote": (["«Liberté, égalité, fraternité»", "«L'État, c'est moi» — Louis XIV",
                             "«" + String(repeating: "é", count: 40) + "»"],
                            ["«»", "«a» Louis", "«a» — louis", "«ab\ncd»", "«" + String(repeating: "é", count: 41) + "»"]),
        "ini-section": (["[server]\nport = 8080\nhost = \"localhost\"\n", "[s]\nx = true\n"], ["[Server]\nport = 1\n", "[s]\n", "[s]\nx=1\n"]),
        "sexpr": (["(+ 1 2 3)", "(+ (* 2 3) 4)", "(a (b))"], ["x", "(a b", "()", "(a  b)", "(1 2 3 4 5)"]),
        "yes-no": (["yes", "no. The earth is round, as seen from space."], ["maybe", "yes. no caps.", "Yes"]),
    ]

    static func request(_ id: String, _ entry: Entry, _ text: String) -> String {
        #"{"id":\#(JSONValue.quoted(id)),"grammar":\#(JSONValue.quoted(entry.lark)),"text":\#(JSONValue.quoted(text))}"#
    }

    @Test(.enabled(if: CorpusOracle.hasLark)) func magiAndLarkAgreeOnHandWrittenSamples() throws {
        #expect(Self.corpus.count >= 5)
        var lines: [String] = [], expected: [(id: String, accepted: Bool)] = []
        for entry in Self.corpus {
            #expect(!entry.prompt.isEmpty, "\(entry.name).gbnf lacks its '# prompt: ' line")
            let matcher = GrammarMatcher(grammar: try Grammar(gbnf: entry.gbnf))
            let (accept, reject) = try #require(Self.samples[entry.name], "no samples for \(entry.name)")
            for (texts, verdict) in [(accept, true), (reject, false)] {
                for text in texts {
                    let id = "\(entry.name): \(text.debugDescription)"
                    #expect(matcher.matches(text) == verdict, "magi: \(id) should be \(verdict ? "accepted" : "rejected")")
                    lines.append(Self.request(id, entry, text))
                    expected.append((id, verdict))
                }
            }
        }
        let results = try CorpusOracle.run("parse_lark.py", lines: lines)
        for (want, result) in zip(expected, results) {
            #expect(result["accepted"] as? Bool == want.accepted, "lark: \(want.id) should be \(want.accepted ? "accepted" : "rejected"): \(result["error"] ?? "")")
        }
    }

    @Test(.enabled(if: TestEnvironment.hasModel && CorpusOracle.hasLark)) func everySampledOutputIsASentenceForLark() throws {
        let generator = try CorpusGenerator(contextSize: 512)
        let clock = ContinuousClock()
        let start = clock.now
        var outputs: [(id: String, entry: Entry, text: String, summary: GenerationSummary)] = []
        for entry in Self.corpus where CorpusOracle.selected(entry.name) {
            let grammar = try Grammar(gbnf: entry.gbnf)
            let prompt = generator.chat(system: "You are a helpful assistant.", user: entry.prompt)
            for seed in Self.seeds {
                let r = try generator.generate(prompt, grammar: grammar, seed: seed, maxTokens: Self.maxTokens)
                outputs.append(("\(entry.name) seed \(seed)", entry, r.text, r.summary))
            }
        }
        let seconds = (clock.now - start).seconds
        let results = try CorpusOracle.run("parse_lark.py", lines: outputs.map { Self.request($0.id, $0.entry, $0.text) })
        var accepted = 0
        for (output, result) in zip(outputs, results) {
            let finished = output.summary.reason == .endOfGeneration
            if finished && result["accepted"] as? Bool == true { accepted += 1 }
            #expect(finished, "\(output.id) hit the \(Self.maxTokens)-token cap: \(output.text.debugDescription)")
            #expect(result["accepted"] as? Bool == true, "\(output.id): lark rejects \(output.text.debugDescription): \(result["error"] ?? "")")
            if CorpusOracle.showOutputs { print(output.id, output.summary.generatedTokens, output.text.debugDescription) }
        }
        print("GBNF corpus: lark accepts \(accepted)/\(outputs.count) (\(percent(accepted, outputs.count))); "
              + timing(outputs.map(\.summary), seconds: seconds))
    }
}
