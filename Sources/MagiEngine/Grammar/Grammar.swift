/// One position in a compiled grammar: a byte set to match, a token to match, a rule to enter, or the end
/// of an alternative.
struct GrammarElement: Sendable {
    enum Kind: UInt8, Sendable { case bytes, token, rule, end }
    var kind: Kind
    /// The byte set index (`bytes`; for `token`, the empty set, so byte-level matching skips it) or the
    /// rule index (`rule`).
    var index: Int32
    /// The token id of a `token` element.
    var token: Int32 = -1
}

/// A context-free grammar compiled to bytes: every character class is spelled out as UTF-8 byte patterns,
/// so a matcher advances one byte at a time and tokens that split a character need no special care.
///
/// Immutable and shareable; match text against it with a ``GrammarMatcher``. The tables live in plain
/// buffers so the matcher's inner loops read them without bounds checks or reference counting.
// Sendable by hand: the buffers are filled in `init` and only read afterwards.
public final class Grammar: @unchecked Sendable {
    /// Rule names, including the rules made for groups, repetitions and classes (`name-3`).
    public let ruleNames: [String]
    /// The rule matching starts from.
    let startRule: Int32
    /// Every alternative of every rule, each followed by an `end` element.
    let elements: UnsafeMutableBufferPointer<GrammarElement>
    /// Four words per byte set.
    let byteSetWords: UnsafeMutableBufferPointer<UInt64>
    /// The element index where each alternative starts, rule by rule.
    let alternativeStarts: UnsafeMutableBufferPointer<Int32>
    /// Rule `r`'s alternatives are `alternativeStarts[ruleAlternatives[r]..<ruleAlternatives[r + 1]]`.
    let ruleAlternatives: UnsafeMutableBufferPointer<Int32>
    /// True if the grammar matches tokens by id somewhere (`<[id]>`).
    let hasTokenTerminals: Bool

    /// Reads and compiles a GBNF grammar.
    ///
    /// - Parameter startRule: the rule the whole output must match (`root` in llama.cpp).
    /// - Throws: ``GrammarError`` with the line and column of a syntax error, or naming a bad rule.
    public convenience init(gbnf: String, startRule: String = "root") throws {
        var parser = GBNFParser(gbnf)
        try self.init(try parser.parse(), startRule: startRule)
    }

    init(_ definition: GrammarDefinition, startRule name: String) throws {
        var lowering = GrammarLowering(definition)
        guard let start = lowering.ruleIndex[name] else { throw GrammarError.missingStartRule(name) }
        try lowering.lowerAll(definition)
        try lowering.checkLeftRecursion()

        var elements: [GrammarElement] = []
        var starts: [Int32] = []
        var offsets: [Int32] = [0]
        for alternatives in lowering.rules {
            for alternative in alternatives {
                starts.append(Int32(elements.count))
                elements += alternative
                elements.append(GrammarElement(kind: .end, index: 0))
            }
            offsets.append(Int32(starts.count))
        }
        ruleNames = lowering.ruleNames
        startRule = Int32(start)
        self.elements = Self.copy(elements)
        byteSetWords = Self.copy(lowering.byteSets.flatMap { [$0.words[0], $0.words[1], $0.words[2], $0.words[3]] })
        alternativeStarts = Self.copy(starts)
        ruleAlternatives = Self.copy(offsets)
        hasTokenTerminals = elements.contains { $0.kind == .token }
    }

    deinit {
        elements.deallocate()
        byteSetWords.deallocate()
        alternativeStarts.deallocate()
        ruleAlternatives.deallocate()
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
        _ = buffer.initialize(from: array)
        return buffer
    }

    /// True if byte set `set` holds `byte`.
    @inline(__always) func byteSet(_ set: Int32, contains byte: UInt8) -> Bool {
        byteSetWords[Int(set) &* 4 &+ Int(byte >> 6)] >> UInt64(byte & 63) & 1 != 0
    }
}

/// Turns parsed rules into byte-level alternatives, adding rules for groups, repetitions and
/// multi-byte character classes the way llama.cpp's parser adds them.
private struct GrammarLowering {
    var ruleNames: [String] = []
    var ruleIndex: [String: Int] = [:]
    var rules: [[[GrammarElement]]] = []
    var byteSets: [ByteSet] = []
    private var byteSetIndex: [ByteSet: Int32] = [:]
    /// Elements written so far by repetitions, which multiply their bodies; bounded by ``GrammarError/maxElements``.
    private var repeatedElements = 0
    private var classRules: [[[ByteSet]]: Int32] = [:]

    init(_ definition: GrammarDefinition) {
        for rule in definition.rules { _ = addRule(rule.name) }
    }

    mutating func lowerAll(_ definition: GrammarDefinition) throws(GrammarError) {
        for rule in definition.rules {
            let index = ruleIndex[rule.name]!
            if case .alternatives(let choices) = rule.body {
                var alternatives: [[GrammarElement]] = []
                for choice in choices { alternatives.append(try sequence(choice, in: rule.name)) }
                rules[index] = alternatives
            } else {
                rules[index] = [try sequence(rule.body, in: rule.name)]
            }
        }
    }

    private mutating func addRule(_ name: String) -> Int {
        ruleIndex[name] = rules.count
        ruleNames.append(name)
        rules.append([])
        return rules.count - 1
    }

    private mutating func generatedRule(for parent: String, _ alternatives: [[GrammarElement]]) -> GrammarElement {
        let index = addRule("\(parent)-\(rules.count)")
        rules[index] = alternatives
        return GrammarElement(kind: .rule, index: Int32(index))
    }

    private mutating func element(_ set: ByteSet) -> GrammarElement {
        if let k = byteSetIndex[set] { return GrammarElement(kind: .bytes, index: k) }
        let k = Int32(byteSets.count)
        byteSets.append(set)
        byteSetIndex[set] = k
        return GrammarElement(kind: .bytes, index: k)
    }

    private mutating func sequence(_ e: GrammarExpression, in rule: String) throws(GrammarError) -> [GrammarElement] {
        switch e {
        case .sequence(let items):
            var out: [GrammarElement] = []
            for item in items { out += try sequence(item, in: rule) }
            return out
        case .alternatives(let choices):
            var alternatives: [[GrammarElement]] = []
            for choice in choices { alternatives.append(try sequence(choice, in: rule)) }
            return [generatedRule(for: rule, alternatives)]
        case .literal(let codePoints):
            return codePoints.flatMap(UTF8ByteSequences.encode).map { element(ByteSet($0...$0)) }
        case .characterClass(let ranges, let negated):
            return characterClass(UTF8ByteSequences.patterns(of: ranges, negated: negated), in: rule)
        case .anyCharacter:
            return characterClass(UTF8ByteSequences.patterns(of: [0...0x10FFFF], negated: false), in: rule)
        case .reference(let name):
            return [GrammarElement(kind: .rule, index: Int32(ruleIndex[name]!))]
        case .token(let id):
            return [GrammarElement(kind: .token, index: element(ByteSet()).index, token: id)]
        case .repetition(let inner, let min, let max):
            let body = try sequence(inner, in: rule)
            // Repetitions copy their body; nested ones multiply, so the copies are counted before they are made.
            repeatedElements += (body.count + 1) * Swift.max(max ?? min + 1, 1)
            guard repeatedElements <= GrammarError.maxElements else { throw .tooLarge(rule: rule, limit: GrammarError.maxElements) }
            var out: [GrammarElement] = []
            for _ in 0..<min { out += body }
            if let max {
                guard max > min else { return out }
                var rest = generatedRule(for: rule, [body, []])
                for _ in 0..<(max - min - 1) { rest = generatedRule(for: rule, [body + [rest], []]) }
                return out + [rest]
            }
            let star = addRule("\(rule)-\(rules.count)")
            rules[star] = [body + [GrammarElement(kind: .rule, index: Int32(star))], []]
            return out + [GrammarElement(kind: .rule, index: Int32(star))]
        }
    }

    /// A single-byte class is one element; a class with multi-byte characters is a rule with one
    /// alternative per byte pattern (shared between identical classes).
    private mutating func characterClass(_ patterns: [[ByteSet]], in rule: String) -> [GrammarElement] {
        if patterns.count == 1 && patterns[0].count == 1 { return [element(patterns[0][0])] }
        if let k = classRules[patterns] { return [GrammarElement(kind: .rule, index: k)] }
        let alternatives = patterns.map { $0.map { element($0) } }
        let ref = generatedRule(for: rule, alternatives)
        classRules[patterns] = ref.index
        return [ref]
    }

    /// Rejects rules that can reach themselves before reading a byte.
    func checkLeftRecursion() throws {
        // Nullable rules, by a work list: each all-rule alternative counts its elements not yet known
        // nullable, and a rule becomes nullable when one of its alternatives' counts reaches zero.
        var nullable = [Bool](repeating: false, count: rules.count)
        var alternativeRule: [Int] = [], unknown: [Int] = []
        var usedIn = [[Int]](repeating: [], count: rules.count)
        var ready: [Int] = []
        for (r, alternatives) in rules.enumerated() {
            for alternative in alternatives where alternative.allSatisfy({ $0.kind == .rule }) {
                if alternative.isEmpty { ready.append(r) }
                for e in alternative { usedIn[Int(e.index)].append(alternativeRule.count) }
                alternativeRule.append(r)
                unknown.append(alternative.count)
            }
        }
        while let r = ready.popLast() {
            guard !nullable[r] else { continue }
            nullable[r] = true
            for a in usedIn[r] {
                unknown[a] -= 1
                if unknown[a] == 0 { ready.append(alternativeRule[a]) }
            }
        }
        // Rules each rule can start with, then a depth-first search for a cycle, on an explicit stack.
        let leftmost: [[Int]] = rules.map { alternatives in
            var found: [Int] = []
            for alternative in alternatives {
                for e in alternative {
                    guard e.kind == .rule else { break }
                    found.append(Int(e.index))
                    if !nullable[Int(e.index)] { break }
                }
            }
            return found
        }
        var state = [UInt8](repeating: 0, count: rules.count) // 0 unvisited, 1 on path, 2 done
        var path: [(rule: Int, next: Int)] = []
        for root in rules.indices where state[root] == 0 {
            state[root] = 1
            path.append((root, 0))
            while let (r, k) = path.last {
                guard k < leftmost[r].count else {
                    state[r] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                let next = leftmost[r][k]
                if state[next] == 1 { throw GrammarError.leftRecursion(rule: ruleNames[next]) }
                if state[next] == 0 {
                    state[next] = 1
                    path.append((next, 0))
                }
            }
        }
    }
}
