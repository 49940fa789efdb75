import ArgumentParser
import Foundation
import MagiChat
import MagiEngine

/// `magi perplexity`: perplexity over a text and KL divergence against a base file, like llama-perplexity.
struct Perplexity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi perplexity",
        abstract: "Measure perplexity over a text file, or KL divergence against a base logits file.")

    @Option(name: [.customShort("m"), .long], help: "Path to a GGUF model (default: the default model).")
    var model: String?
    @Option(name: [.customShort("t"), .long], help: "Threads (default: all cores).")
    var threads: Int?
    @Option(name: [.customShort("f"), .long], help: "The text to score.")
    var file: String?
    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Window size in tokens.")
    var contextSize: Int = 512
    @Option(name: .long, help: "Score only the first N windows.")
    var chunks: Int?
    @Option(name: .customLong("kl-divergence-base"), help: "Write the log-probabilities to this file (llama.cpp's format), or read them with --kl-divergence.")
    var klDivergenceBase: String?
    @Flag(name: .customLong("kl-divergence"), help: "Compare with the --kl-divergence-base file instead of writing it.")
    var klDivergence = false
    @OptionGroup var cache: CacheTypeOptions
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if klDivergence && klDivergenceBase == nil { throw ValidationError("--kl-divergence needs --kl-divergence-base FILE to read") }
        if !klDivergence && file == nil { throw ValidationError("pass -f FILE with the text to score") }
        if contextSize < 8 { throw ValidationError("--ctx-size must be at least 8") }
    }

    func run() async throws {
        let local = try ModelLoader.load(model)
        var tokens: [Int32] = []
        var base: LogitsFileReader?
        var windowSize = contextSize
        if klDivergence, let path = klDivergenceBase {
            base = try LogitsFileReader(path: path)
            windowSize = base!.contextSize
        } else if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            // As llama-perplexity reads -f: one trailing newline dropped, special-token text kept as text.
            var text = String(decoding: data, as: UTF8.self)
            if text.hasSuffix("\n") { text.removeLast() }
            tokens = local.tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        }
        let session = InferenceSession(model: local.model, contextSize: windowSize, threads: threads, cacheType: try cache.type(for: local.model))
        let evaluator = PerplexityEvaluator(session: session, bos: local.sequenceStart)
        if !json {
            StandardError.write("perplexity: \(tokens.isEmpty ? base!.chunkCount : tokens.count / windowSize) windows of \(windowSize) tokens, \(session.threadCount) threads\n")
        }
        let result = try evaluator.run(tokens: tokens, contextSize: windowSize, maxChunks: chunks,
                                       writeBase: klDivergence ? nil : klDivergenceBase, base: base) { chunk, r in
            if !json { StandardError.write("[\(chunk + 1)]\(String(format: "%.4f", r.perplexity)),") }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var summary: [String: Double] = ["perplexity": result.perplexity, "uncertainty": result.uncertainty,
                                             "positions": Double(result.positions), "chunks": Double(result.chunks)]
            if let d = result.divergence {
                summary["mean_kld"] = d.meanKLD
                summary["max_kld"] = d.maximumKLD
                summary["kld_99"] = d.percentile(0.99)
                summary["same_top"] = d.sameTopRate
                summary["base_perplexity"] = d.basePerplexity
            }
            StandardOutput.write(String(decoding: try encoder.encode(summary), as: UTF8.self) + "\n")
            return
        }
        StandardError.write("\n")
        var lines = ["Final estimate: PPL = \(String(format: "%.4f", result.perplexity)) +/- \(String(format: "%.5f", result.uncertainty))"]
        if let d = result.divergence {
            lines += [
                "Mean PPL(base)  : \(String(format: "%.6f", d.basePerplexity))",
                "Mean    KLD     : \(String(format: "%.6f", d.meanKLD))",
                "Maximum KLD     : \(String(format: "%.6f", d.maximumKLD))",
                "99.0%   KLD     : \(String(format: "%.6f", d.percentile(0.99)))",
                "Same top p      : \(String(format: "%.3f", 100 * d.sameTopRate)) %",
            ]
        }
        print(lines.joined(separator: "\n"))
    }
}
