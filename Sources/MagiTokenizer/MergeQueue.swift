/// Something a `MergeQueue` can order: `precedes` is true when `self` must be merged first.
protocol MergeCandidate {
    func precedes(_ other: Self) -> Bool
}

/// A binary min-heap of merge candidates, shared by the BPE and SentencePiece merge loops.
/// Its storage is kept between uses (`removeAll` keeps capacity), so encoding does not allocate.
struct MergeQueue<Element: MergeCandidate> {
    private var items: [Element] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the candidate that precedes all others.
    mutating func popFirst() -> Element? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let first = items[0]
        items[0] = last
        var parent = 0
        let count = items.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var best = left
            if left + 1 < count && items[left + 1].precedes(items[left]) { best = left + 1 }
            guard items[best].precedes(items[parent]) else { break }
            items.swapAt(best, parent)
            parent = best
        }
        return first
    }
}
