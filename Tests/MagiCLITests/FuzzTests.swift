import Foundation
import MagiChat
import MagiEngine
import MagiJSON
import Testing
@testable import MagiCLI

/// Seeded mutation fuzzing of every parser that reads outside input: GBNF, TOML, JSON, the chat
/// stream parser and server-sent events in process (inputs bounded to a few kilobytes, or built deep
/// on purpose), GGUF and JSON request bodies through the real binary under an address-space limit
/// and a deadline. Each input is read or refused with a one-line error; nothing crashes or hangs.
///
/// `MAGI_FUZZ_SEED` and `MAGI_FUZZ_SCALE` (a multiplier of the iteration counts) let
/// `scripts/fuzz --minutes N` run longer with fresh seeds; a failure names its seed.
@Suite(.serialized) struct FuzzTests {
    static let seed = ProcessInfo.processInfo.environment["MAGI_FUZZ_SEED"].flatMap { UInt64($0) } ?? 19
    static let scale = ProcessInfo.processInfo.environment["MAGI_FUZZ_SCALE"].flatMap { Int($0) } ?? 1

    /// Mutates seed inputs: byte flips, inserted syntax tokens, repeated and deleted slices, cuts,
    /// and now and then a slice repeated thousands of times (deep nesting, long keys).
    struct Mutator {
        var random: SeededRandom
        let tokens: [[UInt8]]

        init(seed: UInt64, tokens: [String]) {
            random = SeededRandom(seed: seed)
            self.tokens = tokens.map { Array($0.utf8) }
        }

        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(random.next() % UInt64(n)) }

        /// A mutant of `input`: at most `maxLength` bytes, or 64 KB for the deep ones.
        mutating func mutate(_ input: [UInt8], maxLength: Int = 4096) -> [UInt8] {
            var bytes = input
            for _ in 0...below(6) {
                let at = below(bytes.count + 1)
                switch below(7) {
                case 0 where !bytes.isEmpty: bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.insert(contentsOf: tokens[below(tokens.count)], at: at)
                case 2 where !bytes.isEmpty:
                    let end = min(bytes.count, at + below(64))
                    bytes.removeSubrange(at..<end)
                case 3 where at < bytes.count:
                    let slice = bytes[at..<min(bytes.count, at + 1 + below(16))]
                    bytes.insert(contentsOf: Array(repeating: slice, count: 1 + below(8)).joined(), at: at)
                case 4: bytes = Array(bytes.prefix(at))
                case 5 where below(8) == 0:
                    // Deep: a token repeated far past any nesting limit.
                    let token = tokens[below(tokens.count)]
                    bytes.insert(contentsOf: Array(repeating: token, count: 2_000 + below(3_000)).joined(), at: at)
                    return Array(bytes.prefix(1 << 16))
                default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
                }
            }
            return Array(bytes.prefix(maxLength))
        }

        /// `input` cut into consecutive pieces of 1 to `longest` elements.
        mutating func pieces<C: Collection>(of input: C, longest: Int) -> [C.SubSequence] {
            var rest = input[...], pieces: [C.SubSequence] = []
            while !rest.isEmpty {
                let n = 1 + below(longest)
                pieces.append(rest.prefix(n))
                rest = rest.dropFirst(n)
            }
            return pieces
        }
    }

    /// Parses `rounds` mutants of `corpus` with `parse`: each is read, or refused with a one-line error.
    private func mutants(of corpus: [String], tokens: [String], rounds: Int, _ what: String, parse: ([UInt8]) throws -> Void) {
        let corpus = corpus.map { Array($0.utf8) }
        var mutator = Mutator(seed: Self.seed, tokens: tokens)
        for _ in 0..<rounds * Self.scale {
            let input = mutator.mutate(corpus[mutator.below(corpus.count)])
            do { try parse(input) } catch { expectOneLine(error, input, what) }
        }
    }

    private func expectOneLine(_ error: any Error, _ input: [UInt8], _ what: String) {
        let text = "\(error)"
        #expect(!text.isEmpty && !text.contains("\n"), "\(what), seed \(Self.seed): a multi-line error for \(String(decoding: input.prefix(200), as: UTF8.self).debugDescription): \(text.prefix(300))")
    }

    @Test func gbnf() throws {
        let corpus = [
            #"root ::= "a" | "b" ("c" [d-f]*)+ x{2,5}"# + "\nx ::= [^\\n\"] | \"\\u00e9\" .\n",
            "root ::= item (\",\" item)*\nitem ::= [0-9]+ | \"(\" root \")\" # comment\n",
            "root ::= <[42]> ( \"x\" |\n  \"y\" )? z\nz ::= \"\\x41\"{0,3}\n",
        ]
        mutants(of: corpus, tokens: ["(", ")", "[", "]", "\"", "\\", "::=", "|", "*", "+", "?", "{", "}", "{1000000}",
                                     "{2,", ".", "#", "\n", "root", "x ::= x\n", "<[", "]>", "\\u", "^", "-"], rounds: 1_500, "GBNF") { input in
            let grammar = try Grammar(gbnf: String(decoding: input, as: UTF8.self))
            _ = GrammarMatcher(grammar: grammar).matches("ab")
        }
    }

    @Test func toml() throws {
        let corpus = [
            "model = \"x.gguf\"\ncontext = 4096\n[sampling]\ntemperature = 0.7\n[[mcp_servers]]\nname = 'a'\ncommand = [\"b\", \"c\"]\n",
            "a.b.c = { d = [1, 2.5, -3e4, true], e = 1979-05-27T07:32:00Z }\n\"quoted key\" = \"\"\"\nmulti\\u00e9\"\"\"\n",
        ]
        mutants(of: corpus, tokens: ["[", "]", "[[", "]]", "{", "}", "=", ".", "a.", "\"", "'", "'''", "\"\"\"", "\\", "\n",
                                     "#", ",", "0x", "inf", "nan", "1979-05-27", "\r"], rounds: 1_500, "TOML") { input in
            _ = try TOMLParser.parse(Data(input))
        }
    }

    @Test func json() throws {
        let corpus = [
            #"{"model":"m","messages":[{"role":"user","content":"hi \u00e9\n"}],"max_tokens":5,"stop":["x"],"tools":[]}"#,
            #"[1, -2.5e-3, true, false, null, {"a": {"b": []}}, "\ud83d\ude00"]"#,
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: Self.seed, tokens: ["[", "]", "{", "}", ":", ",", "\"", "\\", "\\u", "\\ud800", "-", "1e999", "0.", "null", "tru"])
        for _ in 0..<3_000 * Self.scale {
            let input = mutator.mutate(corpus[mutator.below(corpus.count)])
            do {
                let value = try JSONValue(parsing: String(decoding: input, as: UTF8.self))
                // What parses prints back to the same value.
                #expect(try JSONValue(parsing: value.compactText) == value, "seed \(Self.seed)")
            } catch { expectOneLine(error, input, "JSON") }
        }
    }

    /// The stream parser sees the same text in random pieces: the message it builds never depends on the cuts.
    /// (Inputs stay under 2 KB: tens of kilobytes in small pieces took minutes, which is the stream
    /// parser's own speed question, not this test's.)
    @Test func chatStreamParser() throws {
        let corpus = [
            "<think>plan</think>Answer <tool_call>{\"name\": \"f\", \"arguments\": {\"x\": [1, \"}\"]}}</tool_call> done",
            "text <tool_call>{\"name\": 3}</tool_call><think>x",
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: Self.seed, tokens: ["<think>", "</think>", "<tool_call>", "</tool_call>", "{", "}", "\"", "\\", "<", ">", " "])
        for _ in 0..<800 * Self.scale {
            let text = String(decoding: mutator.mutate(corpus[mutator.below(corpus.count)], maxLength: 2048).prefix(2048), as: UTF8.self)
            var whole = StreamParser(makeCallID: { "call\($0)" })
            _ = whole.append(text: text)
            _ = whole.finish()
            var pieces = StreamParser(makeCallID: { "call\($0)" })
            for piece in mutator.pieces(of: text, longest: 12) { _ = pieces.append(text: String(piece)) }
            _ = pieces.finish()
            #expect(pieces.message == whole.message, "seed \(Self.seed): \(text.debugDescription)")
        }
    }

    /// Server-sent events in random pieces give the events the whole body gives.
    @Test func serverSentEvents() throws {
        let corpus = [
            "data: {\"a\": 1}\n\n: comment\nevent: x\ndata: two\ndata: lines\r\n\r\nid: 3\ndata:[DONE]\n\n",
            "data:x\rdata: y\r\rretry: 5\ndata\n\n",
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: Self.seed, tokens: ["data:", "data: ", "\n", "\r", "\r\n", ":", "event:", "\n\n"])
        for _ in 0..<2_000 * Self.scale {
            let body = mutator.mutate(corpus[mutator.below(corpus.count)])
            var whole = ServerSentEvents()
            let expected = try whole.append(body) + whole.finish()
            var pieces = ServerSentEvents()
            var events = try mutator.pieces(of: body, longest: 9).flatMap { try pieces.append($0) }
            events += pieces.finish()
            #expect(events == expected, "seed \(Self.seed): \(String(decoding: body, as: UTF8.self).debugDescription)")
        }
    }

    /// Mutants of the default model's first megabyte (metadata, vocabulary, tensor table) through
    /// `magi -m`, under 4 GB of address space and a deadline.
    @Test(.enabled(if: CommandLineTests.hasModel)) func ggufThroughTheBinary() throws {
        let model = try FileHandle(forReadingFrom: URL(fileURLWithPath: CommandLineTests.magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
        let head = Array(try model.read(upToCount: 1 << 20) ?? Data())
        try model.close()
        var random = SeededRandom(seed: Self.seed)
        let path = NSTemporaryDirectory() + "magi-fuzz-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for _ in 0..<12 * Self.scale {
            var bytes = head
            // Mutate the header, the metadata counts and lengths: the first 4 KB hold them.
            for _ in 0..<1 + Int(random.next() % 6) {
                let at = Int(random.next() % 4096)
                bytes[at] = random.next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: random.next())
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let run = try BoundedProcess(executable: CommandLineTests.executable, arguments: ["-m", path, "-p", "hi", "-n", "1"],
                                         addressSpace: 4 << 30, deadline: 60).run()
            #expect(run.signal == nil && !run.timedOut, "seed \(Self.seed): signal \(String(describing: run.signal)): \(run.stderr.prefix(300))")
            #expect(run.status != 0 && run.stderr.split(separator: "\n").count == 1, "seed \(Self.seed): \(run.stderr.prefix(300))")
        }
    }

    /// Mutated request bodies against a real `magi serve` under 8 GB of address space: every one is
    /// answered (a 4xx with an OpenAI error naming what is wrong, or 200), and the server lives on.
    @Test(.enabled(if: CommandLineTests.hasModel)) func requestBodiesThroughTheServer() throws {
        let server = try LoopbackServer(arguments: ["-c", "256", "-n", "2"])
        defer { server.stop() }
        let corpus = [
            #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":1,"temperature":0,"stream":false}"#,
            #"{"prompt":"a","max_tokens":1,"grammar":"root ::= \"x\" | [a-z]{1,3}","top_k":4,"seed":1}"#,
            #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":1,"response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#,
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: Self.seed, tokens: ["[", "]", "{", "}", ":", ",", "\"", "\\", "null", "true", "1e999", "-1", "\"stream\":\"yes\"",
                                                        "\"model\":[]", "\"logprobs\":1", "\"user\":{}", "\"top_k\":\"a\"", "(", "\"grammar\":\"root ::= ((\""])
        for k in 0..<40 * Self.scale {
            let body = mutator.mutate(corpus[k % corpus.count])
            let reply = try server.post(k % 2 == 0 ? "/v1/chat/completions" : "/v1/completions", body: Data(body), deadline: 60)
            let ok = reply.status == 200 || ((400..<500).contains(reply.status) && reply.errorMessage.map { !$0.contains("\n") } == true)
            #expect(ok, "seed \(Self.seed): \(reply.status) \(reply.body.prefix(300)) for \(String(decoding: body, as: UTF8.self).debugDescription)")
            #expect(server.isRunning, "seed \(Self.seed): the server died on \(String(decoding: body, as: UTF8.self).debugDescription)")
            guard server.isRunning else { break }
        }
    }
}
