/// The state of matching text against a ``Grammar``: a set of parse stacks (a pushdown automaton over
/// bytes), advanced one byte at a time, as llama.cpp's grammar sampler advances its stacks.
///
/// Parse states are interned and the state each byte leads to is remembered (``GrammarStates``), so the
/// matcher runs as a deterministic automaton built as it goes: the inside of a string, the digits of a
/// number or the characters of a bounded repeat step between a few states, and a token mask costs about a
/// table lookup per node of the vocabulary trie. Copies of a matcher share those tables (a cache: what
/// one copy adds, the others may use), so a matcher and its copies belong to one thread.
public struct GrammarMatcher {
    public let grammar: Grammar
    private let states: GrammarStates
    /// The current parse state, an index into ``GrammarStates``: equal states allow exactly the same tokens.
    private(set) var state: Int32

    /// A matcher at the start of the grammar.
    public init(grammar: Grammar) {
        self.grammar = grammar
        states = GrammarStates(grammar)
        state = states.initial
    }

    /// Returns to the start of the grammar.
    public mutating func reset() { state = states.initial }

    /// True when the text so far is a complete match, so generation may end here.
    public var canEnd: Bool { states.canEnd(state) }

    /// True if no continuation is possible: the text so far is a complete match that cannot grow.
    public var isComplete: Bool { !states.hasStacks(state) }

    /// The fewest bytes (a token element counting as one) that complete the match from here: 0 when
    /// the text so far may end, `Int.max` when nothing can complete it.
    public var bytesToEnd: Int { states.bytesToEnd(state) }

    /// ``bytesToEnd`` after `bytes` (one token's), or nil when the grammar rejects them.
    func bytesToEnd(after bytes: Slice<UnsafeMutableBufferPointer<UInt8>>) -> Int? {
        var s = state
        for b in bytes {
            s = states.next(s, b)
            if s < 0 { return nil }
        }
        return states.bytesToEnd(s)
    }

    /// ``bytesToEnd`` after token `id` where a token element expects it, or nil.
    func bytesToEnd(afterToken id: Int32) -> Int? {
        guard allows(token: id) else { return nil }
        return states.bytesToEnd(states.after(token: id, from: state))
    }

    /// Advances over `bytes` if the grammar allows them all; otherwise returns false and stays put.
    @discardableResult
    public mutating func accept<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        var s = state
        for b in bytes {
            s = states.next(s, b)
            if s < 0 { return false }
        }
        state = s
        return true
    }

    /// Advances over a token that a token element (`<[id]>`) expects next; returns false, staying put,
    /// if none does.
    @discardableResult
    public mutating func accept(token id: Int32) -> Bool {
        guard grammar.hasTokenTerminals else { return false }
        let s = states.after(token: id, from: state)
        guard s >= 0 else { return false }
        state = s
        return true
    }

    /// True if a token element expects token `id` next.
    func allows(token id: Int32) -> Bool {
        grammar.hasTokenTerminals && states.expects(token: id, in: state)
    }

    /// True if the grammar accepts `bytes` (one token's, not empty) next; the state does not change.
    func allows(_ bytes: Slice<UnsafeMutableBufferPointer<UInt8>>) -> Bool {
        guard !bytes.isEmpty else { return false }
        var s = state
        for b in bytes {
            s = states.next(s, b)
            if s < 0 { return false }
        }
        return true
    }

    /// True if the whole of `text` matches the grammar from the current state (which does not change).
    public func matches(_ text: String) -> Bool {
        var copy = self
        return copy.accept(text.utf8) && copy.canEnd
    }

    /// Sets, in `mask` (one bit per token id, zeroed by the caller), every token of `trie` whose bytes
    /// the grammar accepts next, the tokens its token elements expect, and the end-of-generation tokens
    /// if the text may end here.
    public func allowedTokens(in trie: TokenTrie, into mask: UnsafeMutableBufferPointer<UInt64>) {
        states.allowedTokens(from: state, in: trie, into: mask)
    }
}

/// Interned parse states of a grammar and the transitions between them over bytes, filled in lazily.
///
/// A stack frame is a grammar position over the frame below it (-1: none), stored once; a parse state is
/// a sorted set of stack tops (frames whose position is a byte set or a token element) and whether the
/// grammar may end there, stored once. Transitions live in rows of 256 entries, one row per state that
/// was stepped from; when the rows run out they are all forgotten and refilled as needed. The rows are
/// read through plain pointers, so a trie walk pays no bounds or exclusivity checks.
final class GrammarStates {
    private let grammar: Grammar
    private var framePosition: [Int32] = []
    private var frameParent: [Int32] = []
    private var frameIndex: [Int64: Int32] = [:]
    /// State `s` has the stack tops `topFrames[topStart[s]..<topStart[s + 1]]`.
    private var topStart: [Int32] = [0]
    private var topFrames: [Int32] = []
    private var stateIndex: [[Int32]: Int32] = [:]
    private let hot: UnsafeMutablePointer<Hot>
    private(set) var initial: Int32 = 0
    /// Scratch for computing one transition: the tops reached and whether the grammar may end.
    private var scratch: [Int32] = []
    private var scratchEnds = false
    /// The fewest bytes that complete each rule, each alternative's remainder from each element on,
    /// each frame's stack, and each state (``bytesToEnd(_:)``); saturating at `unreachable`.
    private var ruleCost: [Int] = []
    private var remainderCost: [Int] = []
    private var frameCost: [Int] = []
    private var stateCost: [Int] = []
    private static let unreachable = Int(Int32.max)
    /// Positions ``expand`` has still to visit, each over its parent frame (an explicit stack, so a long
    /// chain of rules cannot overflow the thread's stack).
    private var pending: [(position: Int32, parent: Int32)] = []

    /// What the hot paths read: per state flags and row, and the rows.
    private struct Hot {
        var flags: UnsafeMutablePointer<UInt8>
        var row: UnsafeMutablePointer<Int32>
        var capacity: Int
        var count: Int
        var rows: UnsafeMutablePointer<Int32>
        var rowsCapacity: Int
        var rowCount: Int
    }
    private static let canEndFlag: UInt8 = 1, hasStacksFlag: UInt8 = 2, hasTokenTopsFlag: UInt8 = 4
    private static let unknown: Int32 = -2
    /// At most this many rows of transitions (1 KiB each) are kept.
    private static let rowLimit = 4096

    init(_ grammar: Grammar) {
        self.grammar = grammar
        let capacity = 256
        hot = .allocate(capacity: 1)
        hot.initialize(to: Hot(flags: .allocate(capacity: capacity), row: .allocate(capacity: capacity), capacity: capacity, count: 0,
                               rows: .allocate(capacity: 256), rowsCapacity: 256, rowCount: 0))
        computeCosts()
        let rule = Int(grammar.startRule)
        for k in Int(grammar.ruleAlternatives[rule])..<Int(grammar.ruleAlternatives[rule + 1]) {
            expand(grammar.alternativeStarts[k], parent: -1)
        }
        initial = internScratch()
    }

    deinit {
        hot.pointee.flags.deallocate()
        hot.pointee.row.deallocate()
        hot.pointee.rows.deallocate()
        hot.deallocate()
    }

    func canEnd(_ s: Int32) -> Bool { hot.pointee.flags[Int(s)] & Self.canEndFlag != 0 }
    func bytesToEnd(_ s: Int32) -> Int { s < 0 ? Int.max : stateCost[Int(s)] == Self.unreachable ? Int.max : stateCost[Int(s)] }
    func hasStacks(_ s: Int32) -> Bool { hot.pointee.flags[Int(s)] & Self.hasStacksFlag != 0 }

    /// The state after reading `byte` in state `s`, or -1 if the grammar rejects it.
    @inline(__always) func next(_ s: Int32, _ byte: UInt8) -> Int32 {
        let r = hot.pointee.row[Int(s)]
        if r >= 0 {
            let next = hot.pointee.rows[Int(r) &<< 8 | Int(byte)]
            if next != Self.unknown { return next }
        }
        return transition(s, byte)
    }

    /// The state after token `id` where a token element expects it, or -1.
    func after(token id: Int32, from s: Int32) -> Int32 {
        for k in Int(topStart[Int(s)])..<Int(topStart[Int(s) + 1]) {
            let f = Int(topFrames[k])
            let e = grammar.elements[Int(framePosition[f])]
            if e.kind == .token && e.token == id { expand(framePosition[f] + 1, parent: frameParent[f]) }
        }
        return internScratch()
    }

    func expects(token id: Int32, in s: Int32) -> Bool {
        guard hot.pointee.flags[Int(s)] & Self.hasTokenTopsFlag != 0 else { return false }
        for k in Int(topStart[Int(s)])..<Int(topStart[Int(s) + 1]) {
            let e = grammar.elements[Int(framePosition[Int(topFrames[k])])]
            if e.kind == .token && e.token == id { return true }
        }
        return false
    }

    func allowedTokens(from s: Int32, in trie: TokenTrie, into mask: UnsafeMutableBufferPointer<UInt64>) {
        if hasStacks(s) { walk(from: 0, state: s, trie: trie, mask: mask) }
        if hot.pointee.flags[Int(s)] & Self.hasTokenTopsFlag != 0 {
            for k in Int(topStart[Int(s)])..<Int(topStart[Int(s) + 1]) {
                let e = grammar.elements[Int(framePosition[Int(topFrames[k])])]
                if e.kind == .token && e.token >= 0 && Int(e.token) < trie.vocabularySize {
                    mask[Int(e.token) >> 6] |= 1 << UInt64(e.token & 63)
                }
            }
        }
        if canEnd(s) {
            for t in trie.endOfGenerationTokens { mask[Int(t) >> 6] |= 1 << UInt64(t & 63) }
        }
    }

    /// Depth-first walk of the trie below node `t`, in the state its bytes lead to.
    private func walk(from t: Int, state s: Int32, trie: TokenTrie, mask: UnsafeMutableBufferPointer<UInt64>) {
        var child = t + 1
        let end = Int(trie.subtreeEnd[t])
        while child < end {
            let subtree = Int(trie.subtreeEnd[child])
            let n = next(s, trie.nodeByte[child])
            if n >= 0 {
                for k in Int(trie.tokenStart[child])..<Int(trie.tokenStart[child + 1]) {
                    let token = Int(trie.tokenIDs[k])
                    mask[token >> 6] |= 1 << UInt64(token & 63)
                }
                if subtree > child + 1 && hot.pointee.flags[Int(n)] & Self.hasStacksFlag != 0 {
                    walk(from: child, state: n, trie: trie, mask: mask)
                }
            }
            child = subtree
        }
    }

    // MARK: - Filling the tables

    /// Computes and remembers the state after `byte` in state `s`.
    @inline(never) private func transition(_ s: Int32, _ byte: UInt8) -> Int32 {
        for k in Int(topStart[Int(s)])..<Int(topStart[Int(s) + 1]) {
            let f = Int(topFrames[k])
            let position = framePosition[f]
            if grammar.byteSet(grammar.elements[Int(position)].index, contains: byte) { expand(position + 1, parent: frameParent[f]) }
        }
        let next = internScratch()
        var r = hot.pointee.row[Int(s)]
        if r < 0 {
            r = newRow()
            hot.pointee.row[Int(s)] = r
        }
        hot.pointee.rows[Int(r) &<< 8 | Int(byte)] = next
        return next
    }

    /// Expands position `position` over frame `parent` until every resulting stack is topped by a byte set
    /// or a token element, and adds those tops to the scratch. Reaching the end of the start rule sets
    /// `scratchEnds`.
    private func expand(_ position: Int32, parent: Int32) {
        pending.append((position, parent))
        while let (position, parent) = pending.popLast() {
            let e = grammar.elements[Int(position)]
            switch e.kind {
            case .end:
                if parent < 0 {
                    scratchEnds = true
                } else {
                    pending.append((framePosition[Int(parent)], frameParent[Int(parent)]))
                }
            case .bytes, .token:
                scratch.append(frame(position, parent))
            case .rule:
                // Where to return after the rule; a rule called last in an alternative returns straight
                // to the caller's caller, so right recursion does not deepen the stack.
                let next = grammar.elements[Int(position) + 1].kind == .end ? parent : frame(position + 1, parent)
                let rule = Int(e.index)
                // Pushed last to first, so alternatives are visited in order.
                for k in (Int(grammar.ruleAlternatives[rule])..<Int(grammar.ruleAlternatives[rule + 1])).reversed() {
                    pending.append((grammar.alternativeStarts[k], next))
                }
            }
        }
    }

    private func frame(_ position: Int32, _ parent: Int32) -> Int32 {
        let key = Int64(position) << 32 | Int64(UInt32(bitPattern: parent))
        if let f = frameIndex[key] { return f }
        let f = Int32(framePosition.count)
        framePosition.append(position)
        frameParent.append(parent)
        frameCost.append(min(Self.unreachable, remainderCost[Int(position)] + (parent < 0 ? 0 : frameCost[Int(parent)])))
        frameIndex[key] = f
        return f
    }

    /// The state the scratch holds (-1 if it holds nothing), interned; empties the scratch.
    private func internScratch() -> Int32 {
        defer {
            scratch.removeAll(keepingCapacity: true)
            scratchEnds = false
        }
        if scratch.isEmpty && !scratchEnds { return -1 }
        scratch.sort()
        var unique = 0
        for i in scratch.indices where i == 0 || scratch[i] != scratch[i - 1] {
            scratch[unique] = scratch[i]
            unique += 1
        }
        scratch.removeLast(scratch.count - unique)
        scratch.append(scratchEnds ? 1 : 0)
        if let s = stateIndex[scratch] { return s }
        var h = hot.pointee
        if h.count == h.capacity {
            let capacity = h.capacity * 2
            let flags = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity), row = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
            flags.update(from: h.flags, count: h.count)
            row.update(from: h.row, count: h.count)
            h.flags.deallocate()
            h.row.deallocate()
            (h.flags, h.row, h.capacity) = (flags, row, capacity)
        }
        let s = Int32(h.count)
        var flags: UInt8 = scratchEnds ? Self.canEndFlag : 0
        if unique > 0 { flags |= Self.hasStacksFlag }
        for f in scratch[..<unique] where grammar.elements[Int(framePosition[Int(f)])].kind == .token { flags |= Self.hasTokenTopsFlag }
        h.flags[Int(s)] = flags
        h.row[Int(s)] = -1
        stateCost.append(scratchEnds ? 0 : scratch[..<unique].reduce(Self.unreachable) { min($0, frameCost[Int($1)]) })
        h.count += 1
        hot.pointee = h
        topFrames += scratch[..<unique]
        topStart.append(Int32(topFrames.count))
        stateIndex[scratch] = s
        return s
    }

    /// The fewest bytes completing each rule (a fixed point: rules start unreachable and shrink until
    /// no alternative improves), then each alternative's remainder from every element on. Passes visit
    /// rules callees first, so a grammar without recursion settles in one pass and a recursive one
    /// (JSON's values in arrays) in a few.
    private func computeCosts() {
        let ruleCount = grammar.ruleAlternatives.count - 1
        ruleCost = [Int](repeating: Self.unreachable, count: ruleCount)
        remainderCost = [Int](repeating: 0, count: grammar.elements.count)
        func remainders(of rule: Int) -> Int {
            var best = Self.unreachable
            for k in Int(grammar.ruleAlternatives[rule])..<Int(grammar.ruleAlternatives[rule + 1]) {
                let start = Int(grammar.alternativeStarts[k])
                var end = start
                while grammar.elements[end].kind != .end { end += 1 }
                var sum = 0
                remainderCost[end] = 0
                for position in stride(from: end - 1, through: start, by: -1) {
                    let e = grammar.elements[position]
                    sum = min(Self.unreachable, sum + (e.kind == .rule ? ruleCost[Int(e.index)] : 1))
                    remainderCost[position] = sum
                }
                best = min(best, sum)
            }
            return best
        }
        var changed = true
        let order = rulesCalleesFirst()
        while changed {
            changed = false
            for rule in order {
                let cost = remainders(of: rule)
                if cost < ruleCost[rule] {
                    ruleCost[rule] = cost
                    changed = true
                }
            }
        }
    }

    /// Every rule, each after the rules it calls (but where they call it back), by an explicit-stack
    /// depth-first walk over the rule calls in each rule's elements.
    private func rulesCalleesFirst() -> [Int] {
        let ruleCount = grammar.ruleAlternatives.count - 1
        // Rule r's alternatives, with their end elements, are the elements span[r]..<span[r + 1].
        var span = [Int](repeating: grammar.elements.count, count: ruleCount + 1)
        for r in stride(from: ruleCount - 1, through: 0, by: -1) {
            let first = Int(grammar.ruleAlternatives[r])
            span[r] = first < Int(grammar.ruleAlternatives[r + 1]) ? Int(grammar.alternativeStarts[first]) : span[r + 1]
        }
        var order: [Int] = []
        order.reserveCapacity(ruleCount)
        var seen = [Bool](repeating: false, count: ruleCount)
        var stack: [(rule: Int, cursor: Int)] = []
        for root in 0..<ruleCount where !seen[root] {
            seen[root] = true
            stack.append((root, span[root]))
            while let top = stack.last {
                var cursor = top.cursor
                var callee: Int?
                while cursor < span[top.rule + 1] && callee == nil {
                    let e = grammar.elements[cursor]
                    cursor += 1
                    if e.kind == .rule && !seen[Int(e.index)] { callee = Int(e.index) }
                }
                stack[stack.count - 1].cursor = cursor
                if let callee {
                    seen[callee] = true
                    stack.append((callee, span[callee]))
                } else {
                    order.append(top.rule)
                    stack.removeLast()
                }
            }
        }
        return order
    }

    /// A row of unknown transitions; when all rows are taken, every state's row is forgotten first.
    private func newRow() -> Int32 {
        var h = hot.pointee
        if h.rowCount == Self.rowLimit {
            for s in 0..<h.count { h.row[s] = -1 }
            h.rowCount = 0
        }
        if (h.rowCount + 1) * 256 > h.rowsCapacity {
            let capacity = min(Self.rowLimit, max(16, h.rowCount * 2)) * 256
            let rows = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
            rows.update(from: h.rows, count: h.rowCount * 256)
            h.rows.deallocate()
            h.rows = rows
            h.rowsCapacity = capacity
        }
        let r = h.rowCount
        (h.rows + r * 256).initialize(repeating: Self.unknown, count: 256)
        h.rowCount += 1
        hot.pointee = h
        return Int32(r)
    }
}
