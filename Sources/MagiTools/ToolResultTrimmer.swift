/// Cuts a tool result to a token budget, keeping its beginning and saying what was left out, so a
/// large page or output cannot fill the context window.
public struct ToolResultTrimmer: Sendable {
    /// The most tokens a result may take.
    public let maxTokens: Int
    private let countTokens: @Sendable (String) -> Int

    /// A trimmer counting with `countTokens` (the model's tokenizer in magi).
    public init(maxTokens: Int, countTokens: @escaping @Sendable (String) -> Int) {
        self.maxTokens = maxTokens
        self.countTokens = countTokens
    }

    /// `text` when it fits, else its longest beginning that fits with a note such as
    /// `[result trimmed to 1000 of 5234 tokens]`.
    public func trim(_ text: String) -> String {
        let total = countTokens(text)
        guard total > maxTokens else { return text }
        let note = "\n[result trimmed to \(maxTokens) of \(total) tokens]"
        let budget = max(0, maxTokens - countTokens(note))
        // Binary search on characters for the longest prefix within the budget.
        let characters = Array(text)
        var (low, high) = (0, min(characters.count, budget * 16 + 16))
        while low < high {
            let mid = (low + high + 1) / 2
            if countTokens(String(characters[..<mid])) <= budget { low = mid } else { high = mid - 1 }
        }
        return String(characters[..<low]) + note
    }
}
