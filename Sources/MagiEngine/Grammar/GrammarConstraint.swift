import MagiTokenizer

/// What switches a lazy ``GrammarConstraint`` on: a text appearing in the output (matched on bytes,
/// across token boundaries) or one of a set of tokens being sampled.
public struct GrammarTrigger: Sendable, Equatable {
    public var texts: [String]
    public var tokens: Set<Int32>

    public init(texts: [String] = [], tokens: Set<Int32> = []) {
        self.texts = texts
        self.tokens = tokens
    }

    /// Triggers on each of `texts`, also as a token where the vocabulary has one token spelling it
    /// (such as `<tool_call>` or Mistral's `[TOOL_CALLS]`, which may be control tokens with no bytes).
    public init(texts: [String], tokenizer: Tokenizer) {
        self.init(texts: texts, tokens: Set(texts.compactMap { tokenizer.tokenID(for: $0) }))
    }
}

/// A sampler stage that masks (sets to -inf) every token that would take the output out of a grammar.
/// Insert it with ``Sampler/prepend(_:)`` so penalties, filters and the draw only see allowed tokens.
///
/// End-of-generation tokens are allowed only where the grammar may end; other control tokens never.
/// When the next stage keeps only the best few candidates (greedy, top-k), the stage first checks the
/// best candidates one by one and keeps the best allowed ones, which is exactly what that stage would
/// keep after a full mask; only when too few of them are allowed does it build the mask over the whole
/// vocabulary. Masks are cached by parse state, so a state met again costs a lookup.
///
/// A lazy constraint lets the output run free until a ``GrammarTrigger`` appears, then constrains what
/// follows it (bytes of the triggering token after the trigger text included); once the grammar has
/// matched completely and cannot continue, it waits for the next trigger.
///
/// Near the end of a token budget (``setTokenBudget(_:)``: `-n`, `max_tokens`, the window), the stage
/// steers to the shortest way to close the structure: once the budget comes within
/// ``steeringMargin`` tokens of the fewest bytes that complete the grammar, only tokens after which
/// the grammar can still be completed, one byte per token, within the tokens left are allowed (or, when
/// none is, those that leave the least to complete). Output cut by a budget is then complete and valid
/// whenever the budget was at least the grammar's shortest completion.
public struct GrammarConstraint: SamplerStage {
    public let trie: TokenTrie
    public private(set) var matcher: GrammarMatcher
    /// The trigger of a lazy constraint; nil constrains from the first token.
    public let trigger: GrammarTrigger?
    /// False while a lazy constraint waits for its trigger.
    public private(set) var isActive: Bool
    private let triggerBytes: [[UInt8]]
    /// The last bytes of unconstrained output, enough to find a trigger text split over tokens.
    private var recentBytes: [UInt8] = []
    /// How many of the best allowed candidates the stage after this one keeps (1 for a greedy choice,
    /// k for top-k); nil when it may need them all. ``Sampler/prepend(_:)`` sets it.
    public var candidatesNeeded: Int?
    private var mask: [UInt64]
    /// Masks by parse state (``GrammarMatcher/state``).
    private var maskCache: [Int32: [UInt64]] = [:]
    private static let maskCacheLimit = 64
    /// How many more than `candidatesNeeded` of the best candidates are checked before falling back to a mask.
    private static let checkedBeyondNeeded = 32
    /// Scratch for ``keepBestAllowed(_:of:)``: indices of the best candidates, then the kept ids and logits.
    private var best: [Int] = []
    private var keptIDs: [Int32] = []
    private var keptLogits: [Float] = []
    /// Tokens the output may still have, this one included; nil: no limit.
    private var tokenBudget: Int?
    /// How near (in tokens) the budget must come to the shortest completion before steering starts.
    public static let steeringMargin = 64
    /// Scratch for steering: each allowed candidate's shortest completion after it.
    private var completionAfter: [Int] = []

    /// True while the stage constrains output that its grammar cannot end yet.
    public var isInsideStructure: Bool { isActive && !matcher.canEnd }

    public mutating func setTokenBudget(_ remaining: Int?) { tokenBudget = remaining }

    /// Constrains all of the output to `grammar`.
    public init(grammar: Grammar, trie: TokenTrie) {
        self.init(grammar: grammar, trie: trie, trigger: nil)
    }

    /// Constrains the output that follows `trigger` to `grammar`.
    public init(grammar: Grammar, trie: TokenTrie, lazyUntil trigger: GrammarTrigger) {
        self.init(grammar: grammar, trie: trie, trigger: trigger)
    }

    private init(grammar: Grammar, trie: TokenTrie, trigger: GrammarTrigger?) {
        self.trie = trie
        self.trigger = trigger
        matcher = GrammarMatcher(grammar: grammar)
        isActive = trigger == nil
        triggerBytes = (trigger?.texts ?? []).map { Array($0.utf8) }.filter { !$0.isEmpty }
        mask = [UInt64](repeating: 0, count: (trie.vocabularySize + 63) / 64)
    }

    public mutating func apply(to c: inout TokenCandidates) {
        guard isActive else { return }
        let steering = tokenBudget.map { $0 <= matcher.bytesToEnd.addingReportingOverflow(Self.steeringMargin).partialValue } ?? false
        if !steering, let k = candidatesNeeded, keepBestAllowed(k, of: &c) { return }
        let key = matcher.state
        if let cached = maskCache[key] {
            mask = cached
        } else {
            for i in mask.indices { mask[i] = 0 }
            mask.withUnsafeMutableBufferPointer { matcher.allowedTokens(in: trie, into: $0) }
            if !mask.contains(where: { $0 != 0 }) {
                // A dead end (a complete match that cannot grow, say): only ending is left.
                for t in trie.endOfGenerationTokens { mask[Int(t) >> 6] |= 1 << UInt64(t & 63) }
            }
            if maskCache.count >= Self.maskCacheLimit { maskCache.removeAll(keepingCapacity: true) }
            maskCache[key] = mask
        }
        mask.withUnsafeBufferPointer { allowed in
            for i in 0..<c.count {
                let id = Int(c.ids[i])
                if id >= trie.vocabularySize || allowed[id >> 6] >> UInt64(id & 63) & 1 == 0 {
                    c.logits[i] = -.infinity
                }
            }
        }
        if steering, let budget = tokenBudget { steer(&c, tokensLeftAfterThis: budget - 1) }
        c.isSortedDescending = false
    }

    /// Keeps, of the allowed candidates, those after which the grammar can be completed within
    /// `tokensLeft` tokens of one byte each (an end-of-generation token completes it); when there
    /// are none, those that leave the fewest bytes to complete.
    private mutating func steer(_ c: inout TokenCandidates, tokensLeftAfterThis tokensLeft: Int) {
        completionAfter.removeAll(keepingCapacity: true)
        var fewest = Int.max
        for i in 0..<c.count {
            var after = Int.max
            if c.logits[i] != -.infinity {
                let id = c.ids[i]
                if trie.isEndOfGeneration(id) {
                    after = 0
                } else {
                    after = matcher.bytesToEnd(afterToken: id) ?? matcher.bytesToEnd(after: trie.piece(of: id)) ?? Int.max
                }
            }
            completionAfter.append(after)
            fewest = min(fewest, after)
        }
        let limit = max(tokensLeft, fewest)
        for i in 0..<c.count where completionAfter[i] > limit { c.logits[i] = -.infinity }
    }

    /// Keeps only the `k` best allowed candidates, best first, if they are among the `k` + 32 best of all
    /// (ordered as ``TokenCandidates/sortDescending(keeping:)`` orders them); returns false, changing
    /// nothing, if fewer than `k` of those are allowed.
    private mutating func keepBestAllowed(_ k: Int, of c: inout TokenCandidates) -> Bool {
        let limit = min(c.count, k + Self.checkedBeyondNeeded)
        guard k > 0, limit >= k else { return false }
        var best = self.best
        self.best = []
        defer { self.best = best }
        best.removeAll(keepingCapacity: true)
        c.logits.withUnsafeBufferPointer { l in
            for i in 0..<l.count {
                let x = l[i]
                if best.count == limit {
                    guard x > l[best[limit - 1]] else { continue }
                    best.removeLast()
                }
                var j = best.count
                while j > 0 && x > l[best[j - 1]] { j -= 1 }
                best.insert(i, at: j)
            }
        }
        var found = 0
        for j in best.indices where found < k {
            if allows(c.ids[best[j]]) {
                best[found] = best[j]
                found += 1
            }
        }
        guard found == k else { return false }
        keptIDs.removeAll(keepingCapacity: true)
        keptLogits.removeAll(keepingCapacity: true)
        for j in 0..<k {
            keptIDs.append(c.ids[best[j]])
            keptLogits.append(c.logits[best[j]])
        }
        c.truncate(to: k)
        for j in 0..<k {
            c.ids[j] = keptIDs[j]
            c.logits[j] = keptLogits[j]
        }
        c.isSortedDescending = true
        return true
    }

    /// True if the grammar allows `token` next: as the mask would say, without building it.
    private mutating func allows(_ token: Int32) -> Bool {
        guard token >= 0 && Int(token) < trie.vocabularySize else { return false }
        if trie.isEndOfGeneration(token) { return matcher.canEnd }
        return matcher.allows(token: token) || matcher.allows(trie.piece(of: token))
    }

    /// Advances the grammar over the token (as a token element expects it, else over its bytes; a token
    /// the grammar rejects leaves the state as it was);
    /// a lazy constraint that is waiting looks for its trigger instead.
    public mutating func accept(_ token: Int32) {
        guard isActive else {
            lookForTrigger(token)
            return
        }
        if trie.isEndOfGeneration(token) { return }
        if !matcher.accept(token: token) { matcher.accept(trie.bytes(of: token)) }
        if trigger != nil && matcher.isComplete {
            isActive = false
            matcher.reset()
        }
    }

    public mutating func reset() {
        matcher.reset()
        isActive = trigger == nil
        recentBytes.removeAll(keepingCapacity: true)
    }

    private mutating func lookForTrigger(_ token: Int32) {
        guard let trigger else { return }
        if trigger.tokens.contains(token) {
            activate(following: [])
            return
        }
        guard !triggerBytes.isEmpty else { return }
        recentBytes += trie.bytes(of: token)
        var earliest: (start: Int, end: Int)?
        for text in triggerBytes {
            guard text.count <= recentBytes.count else { continue }
            for start in 0...(recentBytes.count - text.count) where earliest.map({ start < $0.start }) ?? true {
                if recentBytes[start..<start + text.count].elementsEqual(text) {
                    earliest = (start, start + text.count)
                    break
                }
            }
        }
        if let earliest {
            activate(following: Array(recentBytes[earliest.end...]))
            return
        }
        let keep = (triggerBytes.map(\.count).max() ?? 1) - 1
        if recentBytes.count > keep { recentBytes.removeFirst(recentBytes.count - keep) }
    }

    private mutating func activate(following bytes: [UInt8]) {
        recentBytes.removeAll(keepingCapacity: true)
        matcher.reset()
        isActive = true
        matcher.accept(bytes)
    }
}
