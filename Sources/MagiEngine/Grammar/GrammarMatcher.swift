/// The state of matching text against a ``Grammar``: a set of parse stacks (a pushdown automaton over
/// bytes), advanced one byte at a time, as llama.cpp's grammar sampler advances its stacks.
///
/// Stacks share their lower parts: a stack is its top (a grammar position, always a byte set to match)
/// over a chain of return frames (nodes of an arena), so advancing copies nothing but the top.
public struct GrammarMatcher {
    /// One level of a parse stack: where matching continues, and the level below (-1: none).
    struct StackNode {
        var position: Int32
        var parent: Int32
    }

    public let grammar: Grammar
    private var nodes: [StackNode] = []
    /// Stack tops: the current stacks are `tops[0..<liveCount]`; a token mask walk appends one level
    /// after another behind them.
    private var tops: [StackNode] = []
    private var liveCount = 0
    /// True when the text so far is a complete match, so generation may end here.
    public private(set) var canEnd = false
    /// For each element, the level that last pushed a stack topped by it (for de-duplication).
    private var seenAtLevel: [UInt32]
    private var level: UInt32 = 0
    private var levelStart = 0
    private var levelCanEnd = false

    /// A matcher at the start of the grammar.
    public init(grammar: Grammar) {
        self.grammar = grammar
        seenAtLevel = [UInt32](repeating: 0, count: grammar.elements.count)
        reset()
    }

    /// Returns to the start of the grammar.
    public mutating func reset() {
        nodes.removeAll(keepingCapacity: true)
        tops.removeAll(keepingCapacity: true)
        beginLevel()
        let rule = Int(grammar.startRule)
        for k in Int(grammar.ruleAlternatives[rule])..<Int(grammar.ruleAlternatives[rule + 1]) {
            push(grammar.alternativeStarts[k], parent: -1)
        }
        canEnd = levelCanEnd
        liveCount = tops.count
    }

    /// True if no continuation is possible: the text so far is a complete match that cannot grow.
    public var isComplete: Bool { liveCount == 0 }

    /// Advances over `bytes` if the grammar allows them all; otherwise returns false and stays put.
    @discardableResult
    public mutating func accept<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        let savedNodes = nodes.count
        var start = 0, count = liveCount, ends = canEnd
        for b in bytes {
            let before = tops.count
            ends = advance(start..<start + count, over: b)
            start = before
            count = tops.count - before
            if count == 0 && !ends {
                nodes.removeLast(nodes.count - savedNodes)
                tops.removeLast(tops.count - liveCount)
                return false
            }
        }
        canEnd = ends
        keepOnly(start..<start + count)
        return true
    }

    /// Advances over a token that a token element (`<[id]>`) expects next; returns false, staying put,
    /// if none does.
    @discardableResult
    public mutating func accept(token id: Int32) -> Bool {
        guard grammar.hasTokenTerminals else { return false }
        let savedNodes = nodes.count
        beginLevel()
        for i in 0..<liveCount {
            let top = tops[i]
            let e = grammar.elements[Int(top.position)]
            if e.kind == .token && e.token == id { push(top.position &+ 1, parent: top.parent) }
        }
        if tops.count == liveCount && !levelCanEnd {
            nodes.removeLast(nodes.count - savedNodes)
            return false
        }
        canEnd = levelCanEnd
        keepOnly(liveCount..<tops.count)
        return true
    }

    /// True if a token element expects token `id` next.
    func allows(token id: Int32) -> Bool {
        guard grammar.hasTokenTerminals else { return false }
        for i in 0..<liveCount {
            let e = grammar.elements[Int(tops[i].position)]
            if e.kind == .token && e.token == id { return true }
        }
        return false
    }

    /// Makes `tops[range]` the current stacks, keeping only the nodes they reach, renumbered.
    private mutating func keepOnly(_ range: Range<Int>) {
        var survivors = Array(tops[range])
        var renumbered: [Int32: Int32] = [:]
        var kept: [StackNode] = []
        for i in survivors.indices {
            survivors[i].parent = Self.copy(survivors[i].parent, from: nodes, into: &kept, renumbered: &renumbered)
        }
        nodes = kept
        tops = survivors
        liveCount = survivors.count
    }

    /// True if the grammar accepts `bytes` (one token's, not empty) next; the state does not change.
    /// Allocation-free once the stack arena has grown: what advancing pushes is dropped again.
    mutating func allows(_ bytes: Slice<UnsafeMutableBufferPointer<UInt8>>) -> Bool {
        guard !bytes.isEmpty, liveCount > 0 else { return false }
        let savedNodes = nodes.count
        var start = 0, count = liveCount, ends = false
        for b in bytes {
            let before = tops.count
            ends = advance(start..<start + count, over: b)
            start = before
            count = tops.count - before
            if count == 0 && !ends { break }
        }
        let allowed = count > 0 || ends
        nodes.removeLast(nodes.count - savedNodes)
        tops.removeLast(tops.count - liveCount)
        return allowed
    }

    /// True if the whole of `text` matches the grammar from the current state (which does not change).
    public func matches(_ text: String) -> Bool {
        var copy = self
        return copy.accept(text.utf8) && copy.canEnd
    }

    private static func copy(_ node: Int32, from nodes: [StackNode], into kept: inout [StackNode],
                             renumbered: inout [Int32: Int32]) -> Int32 {
        guard node >= 0 else { return -1 }
        if let k = renumbered[node] { return k }
        var n = nodes[Int(node)]
        n.parent = copy(n.parent, from: nodes, into: &kept, renumbered: &renumbered)
        kept.append(n)
        renumbered[node] = Int32(kept.count - 1)
        return Int32(kept.count - 1)
    }

    /// The current stacks as grammar positions, top to bottom, each followed by -1, then 1 if the text
    /// may end here: equal keys allow exactly the same tokens.
    public var stateKey: [Int32] {
        var key: [Int32] = []
        for i in 0..<liveCount {
            key.append(tops[i].position)
            var n = tops[i].parent
            while n >= 0 {
                key.append(nodes[Int(n)].position)
                n = nodes[Int(n)].parent
            }
            key.append(-1)
        }
        key.append(canEnd ? 1 : 0)
        return key
    }

    // MARK: - Advancing

    private mutating func beginLevel() {
        levelStart = tops.count
        levelCanEnd = false
        level &+= 1
        if level == 0 { // wrapped: forget every old mark
            for i in seenAtLevel.indices { seenAtLevel[i] = 0 }
            level = 1
        }
    }

    /// Pushes, behind the existing tops, every stack that `tops[range]` becomes after reading `byte`;
    /// returns true if one of them completes the grammar.
    @inline(__always)
    private mutating func advance(_ range: Range<Int>, over byte: UInt8) -> Bool {
        beginLevel()
        for i in range {
            let top = tops[i]
            if grammar.byteSet(grammar.elements[Int(top.position)].index, contains: byte) {
                push(top.position &+ 1, parent: top.parent)
            }
        }
        return levelCanEnd
    }

    /// Expands position `position` over stack `parent` until every resulting stack is topped by a byte
    /// set, and pushes those stacks (skipping duplicates). Reaching the end of the start rule sets
    /// `levelCanEnd`.
    private mutating func push(_ position: Int32, parent: Int32) {
        let e = grammar.elements[Int(position)]
        switch e.kind {
        case .end:
            if parent < 0 {
                levelCanEnd = true
            } else {
                let below = nodes[Int(parent)]
                push(below.position, parent: below.parent)
            }
        case .bytes, .token:
            if seenAtLevel[Int(position)] == level {
                for i in levelStart..<tops.count where tops[i].position == position && tops[i].parent == parent { return }
            }
            seenAtLevel[Int(position)] = level
            tops.append(StackNode(position: position, parent: parent))
        case .rule:
            // Where to return after the rule; a rule called last in an alternative returns straight
            // to the caller's caller, so right recursion does not deepen the stack.
            var next = parent
            if grammar.elements[Int(position) + 1].kind != .end {
                nodes.append(StackNode(position: position + 1, parent: parent))
                next = Int32(nodes.count - 1)
            }
            let rule = Int(e.index)
            for k in Int(grammar.ruleAlternatives[rule])..<Int(grammar.ruleAlternatives[rule + 1]) {
                push(grammar.alternativeStarts[k], parent: next)
            }
        }
    }

    // MARK: - Token masks

    /// Sets, in `mask` (one bit per token id, zeroed by the caller), every token of `trie` whose bytes
    /// the grammar accepts next, the tokens its token elements expect, and the end-of-generation tokens
    /// if the text may end here.
    public mutating func allowedTokens(in trie: TokenTrie, into mask: UnsafeMutableBufferPointer<UInt64>) {
        if liveCount > 0 { walk(from: 0, stacks: 0..<liveCount, trie: trie, mask: mask) }
        if grammar.hasTokenTerminals {
            for i in 0..<liveCount {
                let e = grammar.elements[Int(tops[i].position)]
                if e.kind == .token && e.token >= 0 && Int(e.token) < trie.vocabularySize {
                    mask[Int(e.token) >> 6] |= 1 << UInt64(e.token & 63)
                }
            }
        }
        if canEnd {
            for t in trie.endOfGenerationTokens { mask[Int(t) >> 6] |= 1 << UInt64(t & 63) }
        }
    }

    /// Depth-first walk of the trie below node `t`, with `stacks` the tops after reading its bytes.
    private mutating func walk(from t: Int, stacks: Range<Int>, trie: TokenTrie, mask: UnsafeMutableBufferPointer<UInt64>) {
        var firstBytes = SIMD4<UInt64>(repeating: 0)
        for i in stacks {
            let set = Int(grammar.elements[Int(tops[i].position)].index) &* 4
            firstBytes |= SIMD4(grammar.byteSetWords[set], grammar.byteSetWords[set + 1],
                                grammar.byteSetWords[set + 2], grammar.byteSetWords[set + 3])
        }
        var child = t + 1
        let end = Int(trie.subtreeEnd[t])
        while child < end {
            let b = trie.nodeByte[child]
            let subtree = Int(trie.subtreeEnd[child])
            if firstBytes[Int(b >> 6)] >> UInt64(b & 63) & 1 != 0 {
                let savedNodes = nodes.count, savedTops = tops.count
                let ends = advance(stacks, over: b)
                let next = savedTops..<tops.count
                if !next.isEmpty || ends {
                    for k in Int(trie.tokenStart[child])..<Int(trie.tokenStart[child + 1]) {
                        let token = Int(trie.tokenIDs[k])
                        mask[token >> 6] |= 1 << UInt64(token & 63)
                    }
                    if !next.isEmpty && subtree > child + 1 { walk(from: child, stacks: next, trie: trie, mask: mask) }
                }
                nodes.removeLast(nodes.count - savedNodes)
                tops.removeLast(tops.count - savedTops)
            }
            child = subtree
        }
    }
}
