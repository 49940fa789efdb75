import MagiChat
import MagiEngine
import MagiTokenizer
import Testing

/// The stream parser gives the same events however the output is split into pieces.
@Suite struct StreamParserTests {
    enum Piece { case text(String), special(String) }

    /// A small seeded generator so failures reproduce.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func parser(startsInReasoning: Bool = false) -> StreamParser {
        StreamParser(startsInReasoning: startsInReasoning, makeCallID: { "call\(String(repeating: "0", count: 5 - String($0).count))\($0)" })
    }

    /// Adjacent reasoning or text events joined: what stays the same across splits.
    static func coalesced(_ events: [StreamEvent]) -> [StreamEvent] {
        var out: [StreamEvent] = []
        for e in events {
            switch (out.last, e) {
            case let (.reasoning(a)?, .reasoning(b)): out[out.count - 1] = .reasoning(a + b)
            case let (.text(a)?, .text(b)): out[out.count - 1] = .text(a + b)
            default: out.append(e)
            }
        }
        return out
    }

    /// Feeds `pieces` with every text piece cut at random places; returns the coalesced events and the message.
    static func run(_ pieces: [Piece], seed: UInt64?, startsInReasoning: Bool = false) -> ([StreamEvent], ChatMessage) {
        var rng = SplitMix64(state: seed ?? 0)
        var parser = parser(startsInReasoning: startsInReasoning)
        var events: [StreamEvent] = []
        for piece in pieces {
            switch piece {
            case .special(let name):
                events += parser.append(special: name)
            case .text(let text):
                guard seed != nil else { events += parser.append(text: text); continue }
                var scalars = Substring(text).unicodeScalars[...]
                while !scalars.isEmpty {
                    let n = Int.random(in: 0...4, using: &rng)
                    events += parser.append(text: String(String.UnicodeScalarView(scalars.prefix(n))))
                    scalars = scalars.dropFirst(n)
                }
            }
        }
        events += parser.finish()
        return (coalesced(events), parser.message)
    }

    /// The events for `pieces`, checked to be identical over 200 random splits.
    static func events(_ pieces: [Piece], startsInReasoning: Bool = false) -> ([StreamEvent], ChatMessage) {
        let whole = run(pieces, seed: nil, startsInReasoning: startsInReasoning)
        for seed in 1...200 as ClosedRange<UInt64> {
            let split = run(pieces, seed: seed, startsInReasoning: startsInReasoning)
            #expect(split.0 == whole.0, "seed \(seed)")
            #expect(split.1 == whole.1, "seed \(seed)")
        }
        return whole
    }

    static func call(_ n: Int, _ name: String, _ arguments: String) -> StreamEvent {
        .toolCall(ToolCall(id: "call0000\(n)", name: name, arguments: arguments))
    }

    @Test func magistralThinkTokens() {
        let (events, message) = Self.events([.special("[THINK]"), .text("Paris is the capital. "), .text("Sure."),
                                             .special("[/THINK]"), .text("\n\nThe capital is **Paris**."), .special("</s>")])
        #expect(events == [.reasoning("Paris is the capital. Sure."), .text("The capital is **Paris**.")])
        #expect(message.parts == [.thinking("Paris is the capital. Sure.", closed: true), .text("The capital is **Paris**.")])
        // [THINK] typed as text is text.
        #expect(Self.events([.text("Use [THINK] tags.")]).0 == [.text("Use [THINK] tags.")])
    }

    @Test func thinkTextMarkersSplitAnywhere() {
        let (events, message) = Self.events([.text("\n<think>\nLet me see: 2 < 3 and </thin is not a tag.\n</think>\n\n2 is smaller <b>.")])
        #expect(events == [.reasoning("\nLet me see: 2 < 3 and </thin is not a tag.\n"), .text("2 is smaller <b>.")])
        #expect(message.reasoning == "\nLet me see: 2 < 3 and </thin is not a tag.\n")
        #expect(message.content == "2 is smaller <b>.")
    }

    @Test func promptOpenedThinking() {
        let (events, _) = Self.events([.text("Hmm, short.</think>Answer.")], startsInReasoning: true)
        #expect(events == [.reasoning("Hmm, short."), .text("Answer.")])
    }

    @Test func stoppedMidThought() {
        let (events, message) = Self.events([.text("<think>I was about to say </th")])
        #expect(events == [.reasoning("I was about to say </th")])
        #expect(message.parts == [.thinking("I was about to say </th", closed: false)])
        let (magistral, m2) = Self.events([.special("[THINK]"), .text("cut")])
        #expect(magistral == [.reasoning("cut")])
        #expect(m2.parts == [.thinking("cut", closed: false)])
        // Closed reasoning with no answer after it is closed in the message.
        #expect(Self.events([.special("[THINK]"), .text("t"), .special("[/THINK]")]).1.parts == [.thinking("t", closed: true)])
        #expect(Self.events([.text("<think>t</think>")]).1.parts == [.thinking("t", closed: true)])
    }

    @Test func answerWithoutReasoning() {
        #expect(Self.events([.text("<thinking> is not <think>.")]).0 == [.text("<thinking> is not <think>.")])
        #expect(Self.events([.text("<thi")]).0 == [.text("<thi")])
        #expect(Self.events([.text("   ")]).0 == [])
        let (events, message) = Self.events([.text("Plain answer, no reasoning. 👋 <tool_")])
        #expect(events == [.text("Plain answer, no reasoning. 👋 <tool_")])
        #expect(message.reasoning == nil)
    }

    @Test func mistralV13ToolCallsInARow() {
        let (events, message) = Self.events([
            .special("[THINK]"), .text("Need both."), .special("[/THINK]"),
            .special("[TOOL_CALLS]"), .text("get_weather"), .special("[ARGS]"), .text(#"{"city": "Zürich", "q": "}{\""}"#),
            .special("[TOOL_CALLS]"), .text("math"), .special("[ARGS]"), .text(#"{"e": [1, {"b": 2}]}"#), .special("</s>"),
        ])
        #expect(events == [.reasoning("Need both."), Self.call(1, "get_weather", #"{"city": "Zürich", "q": "}{\""}"#),
                           Self.call(2, "math", #"{"e": [1, {"b": 2}]}"#)])
        #expect(message.toolCalls.map(\.name) == ["get_weather", "math"])
    }

    @Test func mistralV11CallIDsAndOlderJSONList() {
        let v11 = Self.events([.special("[TOOL_CALLS]"), .text("f"), .special("[CALL_ID]"), .text("abc123XYZ"),
                               .special("[ARGS]"), .text("{}")]).0
        #expect(v11 == [.toolCall(ToolCall(id: "abc123XYZ", name: "f", arguments: "{}"))])
        let v7 = Self.events([.special("[TOOL_CALLS]"),
                              .text(#" [{"name": "f", "arguments": {"x": 1}, "id": "a1b2c3d4e"}, {"name": "g", "arguments": "{\"y\":2}"}]"#),
                              .special("</s>")]).0
        #expect(v7 == [.toolCall(ToolCall(id: "a1b2c3d4e", name: "f", arguments: #"{"x": 1}"#)), Self.call(2, "g", #"{"y":2}"#)])
    }

    @Test func hermesToolCalls() {
        let (events, message) = Self.events([.text(
            "Let me check.\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"a </tool_call\"}}\n</tool_call>\n<tool_call>{\"name\":\"g\",\"arguments\":{}}</tool_call>\nDone.")])
        #expect(events == [.text("Let me check.\n"), Self.call(1, "search", #"{"q": "a </tool_call"}"#), Self.call(2, "g", "{}"),
                           .text("Done.")])
        #expect(message.content == "Let me check.\nDone.")
        #expect(message.toolCalls.count == 2)
    }

    @Test func malformedCallsAreEventsNotCrashes() {
        func malformed(_ events: [StreamEvent]) -> [String] {
            events.compactMap { if case .malformedToolCall(let m) = $0 { return m.reason } else { return nil } }
        }
        let badJSON = Self.events([.special("[TOOL_CALLS]"), .text("f"), .special("[ARGS]"), .text(#"{"x": }"#), .text("after")]).0
        #expect(malformed(badJSON).count == 1)
        #expect(badJSON.last == .text("after"))
        #expect(malformed(Self.events([.special("[TOOL_CALLS]"), .text("f")]).0) == ["no [ARGS] after the function name"])
        #expect(malformed(Self.events([.special("[TOOL_CALLS]")]).0) == ["[TOOL_CALLS] with nothing after it"])
        #expect(malformed(Self.events([.special("[TOOL_CALLS]"), .special("[ARGS]"), .text("{}")]).0) == ["no function name before [ARGS]"])
        #expect(malformed(Self.events([.special("[TOOL_CALLS]"), .text("f"), .special("[ARGS]"), .text(#"{"x": 1"#)]).0).count == 1)
        #expect(malformed(Self.events([.text("<tool_call>{not json}</tool_call>ok")]).0).count == 1)
        #expect(malformed(Self.events([.text(#"<tool_call>{"arguments": {}}</tool_call>"#)]).0) == [#"no "name" string"#])
        #expect(malformed(Self.events([.text(#"<tool_call>{"name": "f""#)]).0).count == 1)
        #expect(malformed(Self.events([.special("[TOOL_CALLS]"), .text("[{\"name\": 1}]")]).0) == [#"no "name" string"#])
        #expect(MalformedToolCall(text: "f[ARGS]{", reason: "unterminated").description == "malformed tool call (unterminated): f[ARGS]{")
    }

    @Test(.enabled(if: TestEnvironment.hasModel)) func tokenIDsFromSmolLM2() throws {
        let file = try GGUFFile(path: TestEnvironment.modelPath)
        let tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(gguf: file))
        let output = "<think>\nA cat? 🐈</think>\n\nIt is a cat.<tool_call>\n{\"name\": \"show\", \"arguments\": {\"emoji\": \"🐈\"}}\n</tool_call><|im_end|>"
        var parser = TokenStreamParser(tokenizer: tokenizer, parser: Self.parser())
        var events: [StreamEvent] = []
        for id in tokenizer.encode(output, addSpecial: false, parseSpecial: true) { events += parser.append(id) }
        events += parser.finish()
        #expect(Self.coalesced(events) == [.reasoning("\nA cat? 🐈"), .text("It is a cat."), Self.call(1, "show", #"{"emoji": "🐈"}"#)])
    }
}
