import MagiJSON

/// A JSON Schema `pattern` (an ECMA-262 regular expression) as a GBNF expression over the characters of
/// a JSON string body, escapes included.
///
/// Supports literals, `.`, classes `[…]` / `[^…]` with ranges and `\d \w \s`, the escapes `\d \w \s \D \W
/// \S` and escaped punctuation, groups `( )` / `(?: )`, `|`, the quantifiers `* + ? {m} {m,} {m,n}`
/// (lazy forms too: they match the same strings), and `^` / `$` at the ends; a pattern without `^` or
/// `$` may have any text before or after its match, as JSON Schema says. Anything else is refused.
///
/// Where ECMA-262 (the schema's dialect) and Python's `re` (what validators such as `jsonschema` run)
/// differ, the grammar takes the narrower reading, so it is never looser than either: `.` matches no line
/// terminator (`\n`, `\r`, U+2028, U+2029, raw or escaped); `\d` and `\w` are ASCII (Python's are
/// Unicode), so `\D`, `\W` and negated classes holding `\d` or `\w` match only ASCII characters;
/// `\S` and `[^\s…]` exclude every Unicode space. Negated classes never match an escape sequence. A
/// character is a code point: an escaped surrogate pair counts once (see the `char` rule).
///
/// With `minLength` / `maxLength` beside it, ``lengthBounded(minimum:maximum:)`` gives the strings that
/// match and have such a length, as a right-linear grammar: the pattern's automaton paired with a count
/// of characters read.
struct JSONSchemaPattern {
    /// A parsed pattern; each `character` matches exactly one character (a GBNF expression).
    indirect enum Node {
        case character(PatternCharacter)
        case group(Node)
        case sequence([Node])
        case alternation([Node])
        case repetition(Node, quantifier: String, minimum: Int, maximum: Int?)
    }

    private(set) var gbnf: String
    /// Whether the grammar uses the `dot` rule (besides `char`, which it always may).
    private(set) var usesDot = false
    private(set) var tree: Node = .sequence([])
    private(set) var anchoredStart = false
    private(set) var anchoredEnd = false
    private let scalars: [Unicode.Scalar]
    private var pos = 0
    private let path: String

    init(_ pattern: String, path: String) throws {
        scalars = Array(pattern.unicodeScalars)
        self.path = path
        gbnf = ""
        var parser = self
        var end = scalars.count
        anchoredStart = scalars.first == "^"
        if anchoredStart { parser.pos = 1 }
        anchoredEnd = end > parser.pos && scalars[end - 1] == "$" && (end < 2 || scalars[end - 2] != "\\")
        if anchoredEnd { end -= 1 }
        tree = try parser.alternation(until: end)
        guard parser.pos == end else { throw parser.error("unexpected '\(scalars[parser.pos])'") }
        usesDot = parser.usesDot
        gbnf = (anchoredStart ? "" : "char* ") + "(" + Self.gbnf(tree) + ")" + (anchoredEnd ? "" : " char*")
    }

    private static func gbnf(_ node: Node) -> String {
        switch node {
        case .character(let character): return character.gbnf
        case .group(let inner): return "(" + gbnf(inner) + ")"
        case .sequence(let items): return items.isEmpty ? "\"\"" : items.map(gbnf).joined(separator: " ")
        case .alternation(let choices): return choices.map(gbnf).joined(separator: " | ")
        case .repetition(let item, let quantifier, _, _): return "(" + gbnf(item) + ")" + quantifier
        }
    }

    /// One state of a length-bounded pattern grammar: its transitions (a character expression and the
    /// state after it) and whether the string may end there.
    struct BoundedState {
        var transitions: [(character: String, next: Int)]
        var accepts: Bool
    }

    /// The strings the pattern matches with `minimum...maximum` characters (no upper bound when
    /// `maximum` is nil), as states of a right-linear grammar, the start first; nil when there are none.
    ///
    /// - Throws: when the grammar would have more than `limit` states.
    func lengthBounded(minimum: Int, maximum: Int?, limit: Int = 4096) throws -> [BoundedState]? {
        let tooLarge = JSONSchemaError.invalidValue(keyword: "pattern", path: path,
                                                    message: "with minLength / maxLength beside it, makes a grammar of more than \(limit) rules")
        guard let (automaton, start, final) = automaton(limit: limit) else { throw tooLarge }
        let closures = automaton.closures()
        // Paired with the count of characters read, capped at `minimum` when there is no maximum.
        let cap = maximum ?? minimum
        struct Key: Hashable { let state: Int, count: Int }
        var index: [Key: Int] = [Key(state: start, count: 0): 0]
        var keys = [Key(state: start, count: 0)]
        var states: [BoundedState] = []
        var k = 0
        while k < keys.count {
            let key = keys[k]
            var state = BoundedState(transitions: [], accepts: closures[key.state].contains(final) && key.count >= minimum)
            let count = key.count + 1
            if maximum == nil || count <= cap {
                for q in closures[key.state] {
                    for (character, target) in automaton.moves[q] {
                        let next = Key(state: target, count: min(count, cap))
                        if index[next] == nil {
                            guard keys.count < limit else { throw tooLarge }
                            index[next] = keys.count
                            keys.append(next)
                        }
                        if !state.transitions.contains(where: { $0.character == character.gbnf && $0.next == index[next]! }) {
                            state.transitions.append((character.gbnf, index[next]!))
                        }
                    }
                }
            }
            states.append(state)
            k += 1
        }
        // Keep the states from which the string can still end well.
        var live = states.map(\.accepts)
        var changed = true
        while changed {
            changed = false
            for i in states.indices where !live[i] && states[i].transitions.contains(where: { live[$0.next] }) {
                live[i] = true
                changed = true
            }
        }
        guard live[0] else { return nil }
        var renumbered: [Int: Int] = [:]
        for i in states.indices where live[i] { renumbered[i] = renumbered.count }
        return states.indices.filter { live[$0] }.map { i in
            BoundedState(transitions: states[i].transitions.compactMap { t in renumbered[t.next].map { (t.character, $0) } },
                         accepts: states[i].accepts)
        }
    }

    /// The pattern's automaton, `char* body char*` as the anchors say: its start and final states; nil
    /// when it would have more than `limit` states.
    private func automaton(limit: Int) -> (Automaton, start: Int, final: Int)? {
        // A Thompson automaton over characters, with ε moves.
        var automaton = Automaton()
        let start = automaton.state(), bodyStart = automaton.state()
        if !anchoredStart { automaton.moves[start].append((.any, start)) }
        automaton.epsilon[start].append(bodyStart)
        let bodyEnd = automaton.build(tree, from: bodyStart, limit: limit)
        if automaton.overflow { return nil }
        let final = automaton.state()
        automaton.epsilon[bodyEnd].append(final)
        if !anchoredEnd { automaton.moves[final].append((.any, final)) }
        return (automaton, start, final)
    }

    /// The pattern as an automaton that checks strings, reading it as the grammar does; nil when it would
    /// have more than `limit` states.
    func matcher(limit: Int = 4096) -> PatternMatcher? {
        guard let (automaton, start, final) = automaton(limit: limit) else { return nil }
        return PatternMatcher(moves: automaton.moves, closures: automaton.closures(), start: start, final: final)
    }

    /// A nondeterministic automaton whose moves each read one character.
    private struct Automaton {
        var moves: [[(character: PatternCharacter, next: Int)]] = []
        var epsilon: [[Int]] = []
        /// Set when a build stopped at the limit of states.
        var overflow = false

        mutating func state() -> Int {
            moves.append([])
            epsilon.append([])
            return moves.count - 1
        }

        /// Adds `node` from state `from`; returns the state where it ends.
        mutating func build(_ node: Node, from: Int, limit: Int) -> Int {
            guard moves.count < limit else {
                overflow = true
                return from
            }
            switch node {
            case .character(let character):
                let next = state()
                moves[from].append((character, next))
                return next
            case .group(let inner):
                return build(inner, from: from, limit: limit)
            case .sequence(let items):
                var at = from
                for item in items { at = build(item, from: at, limit: limit) }
                return at
            case .alternation(let choices):
                let end = state()
                for choice in choices {
                    let begin = state()
                    epsilon[from].append(begin)
                    let last = build(choice, from: begin, limit: limit)
                    epsilon[last].append(end)
                }
                return end
            case .repetition(let item, _, let minimum, let maximum):
                var at = from
                for _ in 0..<minimum { at = build(item, from: at, limit: limit) }
                let end = state()
                epsilon[at].append(end)
                if let maximum {
                    for _ in minimum..<maximum {
                        at = build(item, from: at, limit: limit)
                        epsilon[at].append(end)
                    }
                } else {
                    let loop = state()
                    epsilon[at].append(loop)
                    let last = build(item, from: loop, limit: limit)
                    epsilon[last].append(loop)
                    epsilon[loop].append(end)
                }
                return end
            }
        }

        /// Every state's ε-closure.
        func closures() -> [[Int]] {
            moves.indices.map { s in
                var seen: Set<Int> = [s], stack = [s], out = [s]
                while let q = stack.popLast() {
                    for r in epsilon[q] where seen.insert(r).inserted {
                        stack.append(r)
                        out.append(r)
                    }
                }
                return out
            }
        }
    }

    private func error(_ message: String) -> JSONSchemaError {
        .invalidValue(keyword: "pattern", path: path, message: message + " (at character \(pos + 1))")
    }

    private var peek: Unicode.Scalar? { pos < scalars.count ? scalars[pos] : nil }

    private mutating func alternation(until end: Int) throws -> Node {
        var choices = [try sequence(until: end)]
        while pos < end && scalars[pos] == "|" {
            pos += 1
            choices.append(try sequence(until: end))
        }
        return choices.count == 1 ? choices[0] : .alternation(choices)
    }

    private mutating func sequence(until end: Int) throws -> Node {
        var items: [Node] = []
        while pos < end, scalars[pos] != "|", scalars[pos] != ")" {
            var atom = try self.atom()
            if pos < end, let (quantifier, minimum, maximum) = try quantifier() {
                atom = .repetition(atom, quantifier: quantifier, minimum: minimum, maximum: maximum)
            }
            items.append(atom)
        }
        return .sequence(items)
    }

    /// The quantifier here, if any: its GBNF text and its counts.
    private mutating func quantifier() throws -> (String, Int, Int?)? {
        guard let c = peek else { return nil }
        var q: String
        var counts: (Int, Int?)
        switch c {
        case "*", "+", "?":
            pos += 1
            q = String(c)
            counts = c == "*" ? (0, nil) : c == "+" ? (1, nil) : (0, 1)
        case "{":
            let start = pos
            pos += 1
            var text = ""
            while let d = peek, d != "}" { text.unicodeScalars.append(d); pos += 1 }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard peek == "}", (1...2).contains(parts.count), let m = Int(parts[0]),
                  parts.count == 1 || parts[1].isEmpty || Int(parts[1]).map({ $0 >= m }) == true else {
                pos = start
                throw error("malformed repetition")
            }
            pos += 1
            q = "{" + text + "}"
            counts = (m, parts.count == 1 ? m : Int(parts[1]))
        default:
            return nil
        }
        if peek == "?" { pos += 1 } // lazy: the same strings
        if peek == "+" { throw error("possessive quantifiers are not supported") }
        return (q, counts.0, counts.1)
    }

    private mutating func atom() throws -> Node {
        guard scalars[pos] == "(" else { return .character(try character()) }
        pos += 1
        if peek == "?" {
            guard pos + 1 < scalars.count, scalars[pos + 1] == ":" else { throw error("lookarounds and named groups are not supported") }
            pos += 2
        }
        let inner = try alternation(until: scalars.count)
        guard peek == ")" else { throw error("missing ')'") }
        pos += 1
        return .group(inner)
    }

    /// The one character here.
    private mutating func character() throws -> PatternCharacter {
        let c = scalars[pos]
        pos += 1
        switch c {
        case "[":
            return try characterClass()
        case ".":
            usesDot = true
            return PatternCharacter(gbnf: "dot", codes: Self.subtract([0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029], from: 0...0x10FFFF))
        case "\\":
            guard let e = peek else { throw error("pattern ends with '\\'") }
            pos += 1
            switch e {
            case "d": return PatternCharacter(gbnf: "[0-9]", codes: [0x30...0x39])
            case "w": return PatternCharacter(gbnf: "[a-zA-Z0-9_]", codes: Self.word)
            case "s": return Self.whitespace
            case "D": return Self.asciiComplement([0x30...0x39])!
            case "W": return Self.asciiComplement(Self.word)!
            case "S": return Self.negatedClass(Self.unicodeSpaces)
            case "t": return Self.literal("\t")
            case "n": return Self.literal("\n")
            case "r": return Self.literal("\r")
            default:
                guard !e.properties.isAlphabetic, !("0"..."9").contains(e) else { throw error("escape '\\\(e)' is not supported") }
                return Self.literal(Character(e))
            }
        case "*", "+", "?", "{":
            pos -= 1
            throw error("'\(c)' has nothing to repeat")
        case "^", "$":
            pos -= 1
            throw error("anchors inside the pattern are not supported")
        default:
            return Self.literal(Character(c))
        }
    }

    private mutating func characterClass() throws -> PatternCharacter {
        let negated = peek == "^"
        if negated { pos += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var whitespace = false
        var unicodeClass = false // \d or \w, which Python reads as Unicode classes
        var first = true
        while let c = peek, c != "]" || first {
            first = false
            pos += 1
            var low = c.value
            if c == "\\" {
                guard let e = peek else { break }
                pos += 1
                switch e {
                case "d": unicodeClass = true; ranges.append(0x30...0x39); continue
                case "w": unicodeClass = true; ranges += Self.word; continue
                case "s": whitespace = true; ranges.append(0x20...0x20); continue
                case "t": low = 9
                case "n": low = 10
                case "r": low = 13
                default:
                    guard !e.properties.isAlphabetic, !("0"..."9").contains(e) else { throw error("escape '\\\(e)' in a class is not supported") }
                    low = e.value
                }
            }
            if peek == "-", pos + 1 < scalars.count, scalars[pos + 1] != "]" {
                pos += 1
                guard let h = peek, h != "\\" else { throw error("escaped range ends are not supported") }
                pos += 1
                guard h.value >= low else { throw error("reversed range in a class") }
                ranges.append(low...h.value)
            } else {
                ranges.append(low...low)
            }
        }
        guard peek == "]" else { throw error("missing ']'") }
        pos += 1
        if negated {
            if unicodeClass {
                guard let complement = Self.asciiComplement(ranges + (whitespace ? Self.unicodeSpaces : [])) else {
                    throw error("the class matches no character")
                }
                return complement
            }
            return Self.negatedClass(ranges + (whitespace ? Self.unicodeSpaces : []))
        }
        // Characters a JSON string must escape appear as their escape sequences.
        var choices: [String] = []
        let plain = ranges.flatMap { Self.subtract([0...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F], from: $0) }
        if !plain.isEmpty { choices.append("[" + plain.map { Self.classItem($0) }.joined() + "]") }
        if ranges.contains(where: { $0.contains(0x22) }) { choices.append(Self.literal("\"").gbnf) }
        if ranges.contains(where: { $0.contains(0x5C) }) { choices.append(Self.literal("\\").gbnf) }
        for (code, escape) in [(UInt32(9), "\t"), (10, "\n"), (13, "\r")] where ranges.contains(where: { $0.contains(code) }) {
            choices.append(Self.literal(Character(escape)).gbnf)
        }
        if whitespace { choices.append(Self.whitespace.gbnf) }
        guard !choices.isEmpty else { throw error("the class matches no character") }
        // Decoded, the class holds its characters but the control characters it cannot spell.
        let codes = ranges.flatMap { Self.subtract([0...8, 11...12, 14...0x1F, 0x7F...0x7F], from: $0) }
            + (whitespace ? Self.whitespace.codes : [])
        return PatternCharacter(gbnf: "(" + choices.joined(separator: " | ") + ")", codes: codes)
    }

    private static func subtract(_ removed: [ClosedRange<UInt32>], from range: ClosedRange<UInt32>) -> [ClosedRange<UInt32>] {
        var pieces = [range]
        for r in removed {
            pieces = pieces.flatMap { p -> [ClosedRange<UInt32>] in
                guard p.overlaps(r) else { return [p] }
                var out: [ClosedRange<UInt32>] = []
                if p.lowerBound < r.lowerBound { out.append(p.lowerBound...(r.lowerBound - 1)) }
                if p.upperBound > r.upperBound { out.append((r.upperBound + 1)...p.upperBound) }
                return out
            }
        }
        return pieces
    }

    /// Whitespace as it appears in a JSON string body: a space or an escaped tab, line feed or return.
    private static let whitespace = PatternCharacter(gbnf: #"(" " | "\\" [tnr])"#, codes: [0x09...0x0A, 0x0D...0x0D, 0x20...0x20])

    /// A negated class that also excludes what a JSON string must escape.
    private static func negatedClass(_ ranges: [ClosedRange<UInt32>]) -> PatternCharacter {
        PatternCharacter(gbnf: #"[^"# + ranges.map { classItem($0) }.joined() + #"\"\\\x00-\x1F\x7F]"#,
                         codes: subtract(ranges + [0...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F], from: 0...0x10FFFF))
    }

    /// The printable ASCII characters outside `ranges`, unescaped in a JSON string: a negated class whose
    /// Unicode reading (Python's `\D`, `\W`) cannot be spelled out, narrowed to ASCII.
    private static func asciiComplement(_ ranges: [ClosedRange<UInt32>]) -> PatternCharacter? {
        let kept = subtract(ranges + [0x22...0x22, 0x5C...0x5C], from: 0x20...0x7E)
        return kept.isEmpty ? nil : PatternCharacter(gbnf: "[" + kept.map { classItem($0) }.joined() + "]", codes: kept)
    }

    /// `\w` in ASCII.
    private static let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F...0x5F]

    /// Every character `\s` matches in Python's `re` or in ECMA-262, but those a JSON string escapes.
    private static let unicodeSpaces: [ClosedRange<UInt32>] = [0x20...0x20, 0x85...0x85, 0xA0...0xA0, 0x1680...0x1680,
                                                                0x2000...0x200A, 0x2028...0x2029, 0x202F...0x202F,
                                                                0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF]

    /// A class member (or range) in GBNF, hex-escaped unless alphanumeric.
    private static func classItem(_ r: ClosedRange<UInt32>) -> String {
        func one(_ v: UInt32) -> String {
            if let s = Unicode.Scalar(v), s.isASCII, s.properties.isAlphabetic || ("0"..."9").contains(s) { return String(s) }
            return v <= 0xFF ? "\\x" + hex(v, 2) : v <= 0xFFFF ? "\\u" + hex(v, 4) : "\\U" + hex(v, 8)
        }
        return r.lowerBound == r.upperBound ? one(r.lowerBound) : one(r.lowerBound) + "-" + one(r.upperBound)
    }

    private static func hex(_ v: UInt32, _ width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// One character as it is written inside a JSON string.
    private static func literal(_ c: Character) -> PatternCharacter {
        PatternCharacter(gbnf: JSONSchemaGrammar.literal(String(JSONValue.quoted(String(c)).dropFirst().dropLast())),
                         codes: c.unicodeScalars.map { $0.value...$0.value })
    }
}

/// A pattern's automaton, ready to check strings.
struct PatternMatcher: Sendable {
    let moves: [[(character: PatternCharacter, next: Int)]]
    let closures: [[Int]]
    let start: Int
    let final: Int

    /// Whether `text` (a string's value, escapes decoded) matches.
    func matches(_ text: String) -> Bool {
        var current = Set(closures[start])
        for scalar in text.unicodeScalars {
            var next: Set<Int> = []
            for q in current {
                for (character, target) in moves[q] where character.contains(scalar.value) { next.formUnion(closures[target]) }
            }
            if next.isEmpty { return false }
            current = next
        }
        return current.contains(final)
    }
}

/// One character of a pattern: a GBNF expression over a JSON string's body (escapes included), and the
/// code points it matches in the string's value (escapes decoded).
struct PatternCharacter: Sendable {
    let gbnf: String
    let codes: [ClosedRange<UInt32>]

    /// Any character (the text a pattern without anchors allows around its match).
    static let any = PatternCharacter(gbnf: "char", codes: [0...0x10FFFF])

    func contains(_ code: UInt32) -> Bool { codes.contains { $0.contains(code) } }
}
