import ArgumentParser
import Foundation
import MagiChat
import MagiEngine
import MagiSchema

/// `magi bench`: prefill and decode speed, as llama-bench reports them.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi bench",
        abstract: "Measure prompt processing and generation speed.")

    @Option(name: [.customShort("m"), .long], help: "Path to a GGUF model (default: the default model).")
    var model: String?
    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens processed as one batch (0: skip).")
    var promptTokens: Int = 512
    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Tokens generated one at a time (0: skip).")
    var generatedTokens: Int = 128
    @Option(name: [.customShort("d"), .customLong("n-depth")], help: "Tokens already in the context before each test, as llama-bench's -d.")
    var depth: Int = 0
    @Option(name: [.customShort("t"), .long], help: "Threads (default: all cores).")
    var threads: Int?
    @Option(name: [.customShort("r"), .long], help: "Repetitions of each test.")
    var repetitions: Int = 3
    @OptionGroup var cache: CacheTypeOptions
    @Option(name: .customLong("json-schema"), help: ArgumentHelp("Also measure generation constrained by the JSON Schema in FILE, beside the same sampled generation without it.", valueName: "FILE"))
    var jsonSchemaFile: String?
    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        if promptTokens < 0 || generatedTokens < 0 || depth < 0 { throw ValidationError("token counts must not be negative") }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
    }

    func run() async throws {
        let local = try ModelLoader.load(model)
        let session = InferenceSession(model: local.model, contextSize: depth + max(promptTokens, generatedTokens + (jsonSchemaFile == nil ? 0 : 256), 8), threads: threads,
                                       cacheType: try cache.type(for: local.model))
        let bench = Benchmark(session: session)
        var results: [BenchmarkResult] = []
        if promptTokens > 0 { results.append(try bench.prefill(tokens: promptTokens, repetitions: repetitions, depth: depth)) }
        if generatedTokens > 0 { results.append(try bench.decode(tokens: generatedTokens, repetitions: repetitions, depth: depth)) }
        if let jsonSchemaFile, generatedTokens > 0 {
            guard let data = FileManager.default.contents(atPath: jsonSchemaFile) else { throw CLIError("cannot read \(jsonSchemaFile)") }
            let grammar: Grammar
            do { grammar = try Grammar(gbnf: JSONSchemaGrammar(schema: String(decoding: data, as: UTF8.self)).gbnf) } catch { throw CLIError("\(jsonSchemaFile): \(error)") }
            let prompt = try local.promptTokens(for: [.user("Answer in JSON.")])
            let constraint = GrammarConstraint(grammar: grammar, trie: TokenTrie(tokenizer: local.tokenizer))
            results.append(try bench.sampledDecode(tokens: generatedTokens, prompt: prompt, constraint: nil, repetitions: repetitions))
            results.append(try bench.sampledDecode(tokens: generatedTokens, prompt: prompt, constraint: constraint, repetitions: repetitions))
        }
        let name = (local.path as NSString).lastPathComponent
        let size = String(format: "%.2f MiB", Double(local.model.weightBytes) / 1048576)
        // Decode reads every weight once per token: its speed as bytes per second, beside what this
        // machine reads with as many threads in this run.
        let perToken = local.model.weightBytesPerToken
        let decodes = results.filter { $0.test.hasPrefix("tg") }
        let machine = decodes.isEmpty ? nil : ReadBandwidth.measure(threads: session.threadCount)
        func readRate(_ r: BenchmarkResult) -> Double? { r.test.hasPrefix("tg") ? r.mean * Double(perToken) : nil }
        // Prefill multiplies every weight matrix once per token: its speed as operations per second
        // (a multiply-add counts two), beside this machine's int8 peak measured now.
        let multiplyAdds = local.model.multiplyAddsPerToken
        let prefills = results.filter { $0.test.hasPrefix("pp") }
        let peak = prefills.isEmpty ? nil : Int8Peak.measure(threads: session.threadCount)
        func opsRate(_ r: BenchmarkResult) -> Double? { r.test.hasPrefix("pp") ? r.mean * 2 * Double(multiplyAdds) : nil }
        if json {
            struct Row: Encodable {
                let model: String, model_size: Int, isa: String, threads: Int, test: String, avg_ts: Double, stddev_ts: Double, samples_ts: [Double]
                let weight_bytes_per_token: Int, read_bytes_per_second: Double?, machine_read_bytes_per_second: Double?
                let multiply_adds_per_token: Int, ops_per_second: Double?, machine_int8_ops_per_second: Double?
            }
            let rows = results.map {
                Row(model: name, model_size: local.model.weightBytes, isa: KernelInfo.instructionSet, threads: $0.threads,
                    test: $0.test, avg_ts: $0.mean, stddev_ts: $0.standardDeviation, samples_ts: $0.samples,
                    weight_bytes_per_token: perToken, read_bytes_per_second: readRate($0), machine_read_bytes_per_second: machine,
                    multiply_adds_per_token: multiplyAdds, ops_per_second: opsRate($0), machine_int8_ops_per_second: peak)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            StandardOutput.write(String(decoding: try encoder.encode(rows), as: UTF8.self) + "\n")
            return
        }
        var table = "| model | size | isa | threads | test | t/s |\n| --- | ---: | --- | ---: | ---: | ---: |\n"
        for r in results {
            table += "| \(name) | \(size) | \(KernelInfo.instructionSet) | \(r.threads) | \(r.test) | \(String(format: "%.2f ± %.2f", r.mean, r.standardDeviation)) |\n"
        }
        if let machine {
            table += String(format: "\nThis machine reads %.1f GB/s with %d threads (measured now); a decoded token reads %.1f MB of weights.\n",
                            machine / 1e9, session.threadCount, Double(perToken) / 1e6)
            for r in decodes {
                let rate = readRate(r) ?? 0
                table += "\(r.test): " + String(format: "%.1f GB/s of weights, %.0f%% of that.\n", rate / 1e9, 100 * rate / machine)
            }
        }
        if let peak {
            table += "\nThis machine's int8 multiply-adds (\(KernelInfo.instructionSet)) "
                + String(format: "peak at %.2f TOPS with %d threads (measured now); a prompt token takes %.2f G multiply-adds.\n",
                         peak / 1e12, session.threadCount, Double(multiplyAdds) / 1e9)
            for r in prefills {
                let rate = opsRate(r) ?? 0
                table += "\(r.test): " + String(format: "%.3f TOPS, %.0f%% of that.\n", rate / 1e12, 100 * rate / peak)
            }
        }
        StandardOutput.write(table)  // the model's file name is outside text
    }
}
