import Foundation

/// The tokens still in the running at one sampling step, with their logits.
///
/// Stages shrink, reorder and rescale the set; a final stage sets `selected`.
public struct TokenCandidates: Sendable {
    public var ids: [Int32] = []
    public var logits: [Float] = []
    /// True when `logits` is known to be in descending order.
    public var isSortedDescending = false
    /// Index into `ids` of the chosen token, set by a choosing stage.
    public var selected: Int?

    public init() {}

    /// Loads every token of a logit vector, reusing this value's storage.
    public mutating func load(_ all: UnsafeBufferPointer<Float>) {
        ids.removeAll(keepingCapacity: true)
        logits.removeAll(keepingCapacity: true)
        ids.reserveCapacity(all.count)
        logits.reserveCapacity(all.count)
        for i in 0..<all.count {
            ids.append(Int32(i))
            logits.append(all[i])
        }
        isSortedDescending = false
        selected = nil
    }

    public var count: Int { ids.count }

    /// Sorts by logit, highest first (ties keep lower ids first), keeping only the best `limit`.
    public mutating func sortDescending(keeping limit: Int? = nil) {
        let keep = min(limit ?? count, count)
        if isSortedDescending || keep == 0 { truncate(to: keep); return }
        var order = Array(0..<count)
        let l = logits
        let before: (Int, Int) -> Bool = { l[$0] != l[$1] ? l[$0] > l[$1] : $0 < $1 }
        if keep < count / 8 {
            // Partial selection: a bounded scan beats sorting the whole vocabulary.
            var best: [Int] = []
            best.reserveCapacity(keep + 1)
            for i in order {
                if best.count < keep {
                    best.append(i)
                    if best.count == keep { best.sort(by: before) }
                } else if before(i, best[keep - 1]) {
                    var j = keep - 1
                    while j > 0 && before(i, best[j - 1]) { j -= 1 }
                    best.insert(i, at: j)
                    best.removeLast()
                }
            }
            if best.count < keep { best.sort(by: before) }
            order = best
        } else {
            order.sort(by: before)
            order.removeSubrange(keep...)
        }
        ids = order.map { ids[$0] }
        logits = order.map { l[$0] }
        isSortedDescending = true
    }

    /// Keeps the first `n` candidates.
    public mutating func truncate(to n: Int) {
        if n < count {
            ids.removeSubrange(n...)
            logits.removeSubrange(n...)
        }
    }

    /// Softmax probabilities of the current logits, computed in double precision.
    public func probabilities() -> [Double] {
        guard let m = logits.max() else { return [] }
        var p = logits.map { exp(Double($0 - m)) }
        let sum = p.reduce(0, +)
        for i in p.indices { p[i] /= sum }
        return p
    }
}
