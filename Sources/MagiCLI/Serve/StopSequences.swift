/// The `stop` strings of a request applied to streamed answer text: text passes through until one
/// of them appears, which ends the answer and is left out. Text that could be the start of a stop
/// string is held back until the next piece shows whether it is.
struct StopSequences {
    let stops: [String]
    private var pending = ""
    /// A stop string has appeared: nothing more passes.
    private(set) var isStopped = false

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The part of `piece` (with what was held back) that is sure to be answer text.
    mutating func pass(_ piece: String) -> String {
        guard !isStopped else { return "" }
        guard !stops.isEmpty else { return piece }
        pending += piece
        if let cut = stops.compactMap({ pending.range(of: $0)?.lowerBound }).min() {
            isStopped = true
            defer { pending = "" }
            return String(pending[..<cut])
        }
        // Hold back the longest end of `pending` that begins some stop string.
        var held = pending.endIndex
        for start in pending.indices.reversed() {
            let tail = pending[start...]
            if stops.contains(where: { $0.hasPrefix(tail) }) { held = start }
            if pending.distance(from: start, to: pending.endIndex) >= stops.map(\.count).max()! { break }
        }
        defer { pending = String(pending[held...]) }
        return String(pending[..<held])
    }

    /// What is still held back, once the answer has ended without a stop string.
    mutating func finish() -> String {
        defer { pending = "" }
        return isStopped ? "" : pending
    }
}
